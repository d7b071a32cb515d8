import sys

from schoolgate.cli import main

sys.exit(main())
