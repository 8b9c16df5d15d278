"""Workflows: ordered steps of one shape (:mod:`.step`), applied by one loop
(:mod:`.runner`), journaled per run (:mod:`.journal`).

The migration (:mod:`snapmigrate.migrate`) and the cutover
(:mod:`snapmigrate.cutover`) are workflows; each brings its steps, the
context they run in, and the section of the journal they record in.
"""
