"""TLS for optional HTTPS inspection: the school CA, leaf certificates, upstream verification."""
