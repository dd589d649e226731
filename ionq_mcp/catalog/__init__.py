"""The tool catalog, built from data: capability specs + IonQ's OpenAPI description.

Every operation in ``capabilities/*.yaml`` (Naftiko ``kind: Capability``) becomes one :class:`Operation`, and
the server turns each into one MCP tool. HTTP operations are matched to the OpenAPI operation by method and
path (never by name); their path, query and body parameters are merged into one flat argument object with
identifier-safe names (``{UUID}`` under ``/jobs`` -> ``job_id``, ``variantId`` -> ``variant_id``, ``1q_gates``
-> ``one_qubit_gates``). Workflow operations (``x-handler: workflow``) carry their schemas inline.

Modules: :mod:`._model` (the data), :mod:`._convert` (OpenAPI operation -> tool), :mod:`._loader` (capability
files -> catalog). The spec itself is read through :mod:`ionq_mcp.openapi`; the agent-facing text and
presentation come from the overlay, :mod:`ionq_mcp._catalog_text`.

Three schemas per operation, each for one reader:

* ``input_schema``: what the model sees. Flat, ``$ref``-free, compact; ``anyOf`` bodies merged into one
  property set.
* ``validation_schema``: what :mod:`ionq_mcp.server._validation` checks. The spec's full schema for the same
  flat arguments with every ``anyOf`` branch kept, reconciled with ``schemas/*.json``.
* ``output_schema``: what MCP clients check ``structuredContent`` against. Derived from the 2xx response and
  relaxed (no ``required``, no ``additionalProperties: false``, every leaf nullable) so a response with new or
  null fields never fails; non-object responses are wrapped under ``result_key``.
"""
from ionq_mcp.catalog._convert import snake_case
from ionq_mcp.catalog._loader import load_catalog
from ionq_mcp.catalog._model import Argument, Catalog, CatalogError, Operation, ResultKind, Role

__all__ = ["Argument", "Catalog", "CatalogError", "Operation", "ResultKind", "Role", "load_catalog", "snake_case"]
