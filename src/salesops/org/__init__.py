"""The organisation: company settings, dimension trees, salespeople and their effective-dated assignments,
customers, products and sales transactions (order lines, credits, payments).

Role in the flow: every other area reads these records. Writes go through ``org.services`` (atomic, audited);
reads that depend on who is asking go through ``org.access`` (``visible_to`` and ``access_*``).
``SalesMonthly`` is an aggregate kept by the services that write order lines, so home pages never scan lines.
"""
