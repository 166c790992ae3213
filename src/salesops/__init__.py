"""salesops: run a sales team end to end.

The Django project lives in this package (settings, urls, one app per business area); the pure calculation
core is ``salesops.engine`` and imports nothing from Django.
"""

__version__ = "0.1.0"
