"""The hosting platform's command line: a client of its REST API, standard library only."""

__version__ = "0.1.0"
