"""Reads that combine wire calls so an agent is never left at a dead end.

* ``whoami`` adds the caller's ``organization_id`` (from ``GET /sessions``, whose response always carries it):
  no other read reveals the id that ``get_organization_usage`` needs.
* ``get_organization_usage`` without ``organization_id`` looks the caller's own organization up the same way.
* Distribution reads (``get_job_probabilities``, ``get_variant_probabilities``, ``get_variant_histogram``) read
  the job beside its results (concurrently) so bitstrings are as wide as the circuit, and a multi-circuit
  parent's ``{child_id: {state: p}}`` becomes ``children``: one shaped distribution per circuit, with the name
  the agent gave it.

Each function takes ``(client, arguments)`` like the plain reads of :mod:`._tools` and returns plain JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from ionq_mcp.server._call import to_jsonable
from ionq_mcp.server._results import BIT_ORDER_NOTE, shape_distribution

if TYPE_CHECKING:
    from ionq_mcp.client import IonQClient

__all__ = ["circuit_names", "distribution_read", "gather", "organization_id", "organization_usage", "whoami"]

_Read = Callable[["IonQClient", Mapping[str, Any]], Awaitable[Any]]


async def gather(*functions: Callable[[], Awaitable[None]]) -> None:
    """Run ``functions`` concurrently; the first failure is raised as itself (an error result then reports the
    API's status and hint), not wrapped in an ``ExceptionGroup``."""
    failures: list[BaseException] = []

    async def run(function: Callable[[], Awaitable[None]]) -> None:
        try:
            await function()
        except Exception as exc:  # noqa: BLE001 - re-raised below, unwrapped
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        for function in functions:
            tg.start_soon(run, function)
    if failures:
        raise failures[0]


class OrganizationUnknown(LookupError):
    """The API did not reveal the caller's organization id."""


async def organization_id(client: IonQClient) -> str:
    """The caller's organization id, as ``GET /sessions`` reports it (the spec makes it required there)."""
    page = to_jsonable(await client.list_sessions())
    found = page.get("organization_id") if isinstance(page, Mapping) else None
    if not isinstance(found, str) or not found:
        raise OrganizationUnknown("IonQ did not report this key's organization id (GET /sessions has none); pass "
                                  "organization_id explicitly.")
    return found


async def whoami(client: IonQClient, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /whoami`` plus ``organization_id`` (None when the API does not reveal it)."""
    found: dict[str, Any] = {}

    async def me() -> None:
        found["me"] = to_jsonable(await client.whoami())

    async def organization() -> None:
        try:
            found["organization_id"] = await organization_id(client)
        except Exception:  # noqa: BLE001 - the identity still answers; the id is a convenience
            found["organization_id"] = None

    await gather(me, organization)
    return {**found["me"], "organization_id": found["organization_id"]}


async def organization_usage(client: IonQClient, arguments: Mapping[str, Any]) -> Any:
    """``GET /organizations/{organization_id}/usage``; the caller's own organization when none is given."""
    arguments = dict(arguments)
    if not arguments.get("organization_id"):
        arguments["organization_id"] = await organization_id(client)
    return await client.get_organization_usage(**arguments)


async def circuit_names(client: IonQClient, child_ids: list[str]) -> dict[str, str | None]:
    """Each child job's ``name`` (the name its circuit had in the multi-circuit input), read concurrently;
    None for a child that cannot be read."""
    names: dict[str, str | None] = {}

    async def read(child: str) -> None:
        try:
            job = to_jsonable(await client.get_job(job_id=child))
        except Exception:  # noqa: BLE001 - a missing name must not sink the results
            names[child] = None
            return
        name = job.get("name") if isinstance(job, Mapping) else None
        names[child] = name if isinstance(name, str) else None

    await gather(*(lambda c=child: read(c) for child in child_ids))
    return {child: names[child] for child in child_ids}


def _qubits(job: Mapping[str, Any] | None) -> int | None:
    stats = (job or {}).get("stats")
    qubits = stats.get("qubits") if isinstance(stats, Mapping) else None
    return qubits if isinstance(qubits, int) and not isinstance(qubits, bool) else None


def distribution_read(read: _Read, key: str) -> _Read:
    """A distribution read that shapes its answer with the circuit's width (and per circuit, by name)."""

    async def handler(client: IonQClient, arguments: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {"job": None}

        async def results() -> None:
            found["data"] = to_jsonable(await read(client, arguments))

        async def job() -> None:
            try:
                found["job"] = to_jsonable(await client.get_job(job_id=arguments["job_id"]))
            except Exception:  # noqa: BLE001 - without the job, bitstrings are as wide as the highest qubit seen
                found["job"] = None

        await gather(results, job)
        data, parent = found["data"], found["job"]
        qubits = _qubits(parent)
        if isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
            names = await circuit_names(client, [str(k) for k in data])
            children = {cid: {"name": names.get(cid), **shape_distribution(dist, qubits=qubits, key=key)}
                        for cid, dist in data.items()}
            return {"children": children, "bit_order": BIT_ORDER_NOTE}
        if not isinstance(data, Mapping):
            return {key: data}
        return {**shape_distribution(data, qubits=qubits, key=key), "bit_order": BIT_ORDER_NOTE}

    return handler
