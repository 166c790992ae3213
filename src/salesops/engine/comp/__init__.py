"""Compensation: plans as code (:mod:`.plan`) and the vectorised, explainable calculation (:mod:`.calc`)."""
