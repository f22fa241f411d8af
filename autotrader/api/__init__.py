"""The REST API's shared parts: base views, errors, schema, routing (``urls``).

Each app keeps its own endpoints in ``<app>/apis.py``, thin callers of its
services and selectors (HackSoft's "core vs interface").
"""
