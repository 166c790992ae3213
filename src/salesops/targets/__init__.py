"""Targets (销售目标): SMART target plans decomposed top-down along levels the user chooses, spread over months,
reconciled with bottom-up commits, and tracked for attainment against time progress.

Role in the flow: ``services`` gathers the inputs from the organisation (members of each dimension, history and
capacity from the sales cube and people) and hands plain values to ``salesops.engine.decomposition``; the nodes it
returns are stored as ``TargetNode`` rows with their months. ``attainment`` maps the sales cube onto a plan's leaves
in one pass and rolls the actuals up the plan tree. Only a draft plan changes; every change is audited.
"""
