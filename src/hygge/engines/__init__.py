"""One module per database engine, used by its home and its store alike.

An engine module holds what is true of the engine whichever way the rows go: its driver
(connecting, pooling, judging errors), its SQL dialect (quoting, placeholders, the window
predicate, see `hygge.engines.dialect`), its type maps in both directions, and how a database
is named as a destination identity. `homes/` and `stores/` are thin users of it and never
import each other. `driver.py` is what the server engines' drivers share.
"""
