"""Reads: every query the pages, the API and the services make, with no writes and no side effects.

Layers, lowest first: clinical < models < access < queries < services < forms / api < views
(tests/test_import_layers.py checks it).
"""
