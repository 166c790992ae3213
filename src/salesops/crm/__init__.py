"""Customer relationships and the sales process (seed chapter 3).

Customers themselves live in ``org`` (order lines reference them); this app adds what the sales process keeps
around them: contacts with roles, the configurable stage pipeline, opportunities and every stage change,
activities, and quotes with their discount approval. Writes go through ``services``; who sees what through
``access``; the analytics over the pipeline are the pure ``salesops.engine.pipeline`` fed by ``selectors``.
"""
