"""The one compiled part: the DNS resolver's fast lane (src/schoolgate/gateway/dns/fastlane.py).

Everything else is in pyproject.toml; setuptools reads both."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "schoolgate.gateway.dns._fastlane",
            ["src/schoolgate/gateway/dns/_fastlane.c"],
            libraries=["z", "crypto"],
            extra_compile_args=["-O2", "-Wall"],
        )
    ]
)
