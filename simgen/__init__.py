"""simgen: YAML driving scenes -> rendered, exactly labelled data; and a domain-gap validator."""

__version__ = "0.1.0"
