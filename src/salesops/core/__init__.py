"""Cross-cutting pieces every app uses: user profiles with roles, the audit log, money fields and formatting.

Role in the flow: services in every app call ``core.audit.record`` inside their transaction; views and APIs
read the user's role from ``core.roles``. This app depends on no other salesops app.
"""
