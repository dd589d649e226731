"""Bad input on every route: IonQ's error shape naming the offending key, nothing stored, still serving.
Also authentication and project scoping."""

from __future__ import annotations

import pytest

from tests.sandbox._service import KEY_A, KEY_B, assert_error, circuit_job, run

pytestmark = pytest.mark.anyio

# ------------------------------------------------------------------------------------------ job creation


BAD_JOBS = [
    # (description, payload, key named in validation.keys)
    ("unknown gate", circuit_job([{"gate": "hadamard", "target": 0}]), "input.circuit[0].gate"),
    ("qubit out of range", circuit_job([{"gate": "h", "target": 5}]), "input.circuit[0]"),
    ("negative qubit", circuit_job([{"gate": "h", "target": -1}]), "input.circuit[0].target"),
    ("rotation of the wrong type", circuit_job([{"gate": "rx", "target": 0, "rotation": "pi"}]),
     "input.circuit[0].rotation"),
    ("missing rotation", circuit_job([{"gate": "rz", "target": 0}]), "input.circuit[0].rotation"),
    ("cnot without control", circuit_job([{"gate": "cnot", "target": 0}]), "input.circuit[0].control"),
    ("shots of the wrong type", circuit_job(shots=[5]), "shots"),
    ("shots out of range", circuit_job(shots=0), "shots"),
    ("too many QPU shots", circuit_job(backend="qpu.aria-1", shots=20000), "shots"),
    ("missing backend", {"type": "ionq.circuit.v1", "input": {"gateset": "qis", "circuit": []}}, "backend"),
    ("unknown backend", circuit_job(backend="qpu.nowhere"), "backend"),
    ("missing input", {"type": "ionq.circuit.v1", "backend": "simulator"}, "input"),
    ("missing circuit", {"type": "ionq.circuit.v1", "backend": "simulator", "input": {"gateset": "qis"}},
     "input.circuit"),
    ("unknown job type", {**circuit_job(), "type": "ionq.nonsense"}, "type"),
    ("unknown top-level key", {**circuit_job(), "shotz": 10}, "shotz"),
    ("unknown noise model", circuit_job(noise={"model": "perfect"}), "noise.model"),
    ("metadata value not a string", circuit_job(metadata={"n": 1}), "metadata.n"),
    ("debiasing below 500 shots", circuit_job(backend="qpu.aria-1", shots=100,
                                              settings={"error_mitigation": {"debiasing": True}}),
     "settings.error_mitigation.debiasing"),
    ("30 qubits on the simulator", circuit_job([{"gate": "h", "target": 29}], qubits=30), "input.qubits"),
    ("qubit 40 with qubits omitted", {"type": "ionq.circuit.v1", "backend": "simulator", "input": {
        "gateset": "qis", "circuit": [{"gate": "h", "target": 0}, {"gate": "h", "target": 40}]}}, "input.circuit[1]"),
    ("26 qubits on aria", circuit_job([{"gate": "h", "target": 0}], backend="qpu.aria-1", qubits=26),
     "input.qubits"),
    ("multi-circuit without circuits", {"type": "ionq.multi-circuit.v1", "backend": "simulator",
                                        "input": {"gateset": "qis", "circuits": []}}, "input.circuits"),
    ("native gate in a qis circuit", circuit_job([{"gate": "gpi", "target": 0, "phase": 0.1}]),
     "input.circuit[0].gate"),
]


@pytest.mark.parametrize(("description", "payload", "key"), BAD_JOBS, ids=[b[0] for b in BAD_JOBS])
async def test_bad_job_is_400_naming_the_key_and_nothing_is_stored(client, sandbox, description, payload, key):
    body = assert_error(await client.post("/jobs", json=payload), 400, key)
    assert body["validation"]["source"] == "body"
    assert sandbox.store.count_jobs() == 0
    # still serving
    assert (await client.get("/jobs")).status_code == 200


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\"a string\"", b"null"])
async def test_malformed_job_body_is_400(client, sandbox, raw):
    response = await client.post("/jobs", content=raw, headers={"Content-Type": "application/json"})
    body = assert_error(response, 400)
    assert body["validation"]["keys"]
    assert sandbox.store.count_jobs() == 0


_BELL_WITH_SETTINGS = (b'{"type": "ionq.circuit.v1", "backend": "simulator", "settings": %s, '
                       b'"input": {"gateset": "qis", "circuit": [{"gate": "h", "target": 0}]}}')
NON_FINITE = [
    # (route, raw JSON with a number Python's parser reads as nan/inf, key named)
    ("/jobs", _BELL_WITH_SETTINGS % b'{"compilation": {"opt": NaN}}', "settings.compilation.opt"),
    ("/jobs", _BELL_WITH_SETTINGS % b'{"compilation": {"opt": 1e999}}', "settings.compilation.opt"),
    ("/jobs", (b'{"type": "ionq.circuit.v1", "backend": "simulator", "input": {"circuit": [{"gate": "rx", '
               b'"target": 0, "rotation": -Infinity}]}}'), "input.circuit[0].rotation"),
    ("/sessions", b'{"backend": "qpu.aria-1", "settings": {"cost_limit": {"unit": "usd", "value": Infinity}}}',
     "settings.cost_limit.value"),
    ("/sessions", b'{"backend": "qpu.aria-1", "settings": {"cost_limit": {"unit": "usd", "value": NaN}}}',
     "settings.cost_limit.value"),
]


@pytest.mark.parametrize(("route", "raw", "key"), NON_FINITE, ids=[f"{r}-{k}" for r, _, k in NON_FINITE])
async def test_non_finite_numbers_are_400_naming_the_key_and_nothing_is_stored(client, sandbox, route, raw, key):
    # Stored, a NaN would make every later list of jobs or sessions fail to serialise (a 500 for good).
    response = await client.post(route, content=raw, headers={"Content-Type": "application/json"})
    assert assert_error(response, 400, key)["validation"]["source"] == "body"
    assert sandbox.store.count_jobs() == 0
    listed = await client.get("/jobs")
    assert listed.status_code == 200 and listed.json()["jobs"] == []
    sessions = await client.get("/sessions")
    assert sessions.status_code == 200 and sessions.json()["sessions"] == []


@pytest.mark.parametrize("route", ["/jobs", "/sessions"])
async def test_a_body_nested_too_deeply_to_parse_is_400(client, sandbox, route):
    raw = b'{"backend": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(await client.post(route, content=raw, headers={"Content-Type": "application/json"}), 400, "body")
    assert (await client.get("/jobs")).status_code == 200


@pytest.mark.parametrize("route", ["/jobs", "/sessions"])
async def test_a_body_over_the_size_limit_is_413(client, sandbox, route):
    from ionq_mcp.sandbox._app import MAX_BODY_BYTES

    raw = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = await client.post(route, content=raw, headers={"Content-Type": "application/json"})
    assert assert_error(response, 413, "body")["validation"]["source"] == "body"

    sent = []

    async def chunked():  # no Content-Length, 64 MiB offered: reading stops once the limit is passed
        for _ in range(4 * MAX_BODY_BYTES // (1 << 20)):
            sent.append(1)
            yield b" " * (1 << 20)

    assert_error(await client.post(route, content=chunked(), headers={"Content-Type": "application/json"}), 413)
    assert len(sent) <= MAX_BODY_BYTES // (1 << 20) + 2
    assert sandbox.store.count_jobs() == 0 and (await client.get("/jobs")).status_code == 200


async def test_job_in_an_unknown_session_is_404_naming_session_id(client, sandbox):
    assert_error(await client.post("/jobs", json=circuit_job(session_id="nope")), 404, "session_id")
    assert sandbox.store.count_jobs() == 0


# -------------------------------------------------------------------------------------------- other routes


@pytest.mark.parametrize(("path", "key"), [
    ("/backends/qpu.nowhere", "backend"),
    ("/backends/qpu.nowhere/characterizations", "backend"),
    ("/backends/qpu.aria-1/characterizations/00000000-0000-0000-0000-000000000000", "UUID"),
    ("/jobs/00000000-0000-0000-0000-000000000000", "UUID"),
    ("/jobs/00000000-0000-0000-0000-000000000000/cost", "UUID"),
    ("/jobs/00000000-0000-0000-0000-000000000000/circuits/native", "UUID"),
    ("/jobs/00000000-0000-0000-0000-000000000000/results/probabilities", "UUID"),
    ("/jobs/00000000-0000-0000-0000-000000000000/variants/v/results/shots", "UUID"),
    ("/sessions/00000000-0000-0000-0000-000000000000", "session_id"),
    ("/sessions/00000000-0000-0000-0000-000000000000/jobs", "session_id"),
])
async def test_unknown_ids_are_404_naming_the_parameter(client, path, key):
    body = assert_error(await client.get(path), 404, key)
    assert body["validation"]["source"] == "params"


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/jobs/00000000-0000-0000-0000-000000000000"),
    ("PUT", "/jobs/00000000-0000-0000-0000-000000000000/status/cancel"),
    ("POST", "/sessions/00000000-0000-0000-0000-000000000000/end"),
])
async def test_unknown_ids_on_write_routes_are_404(client, method, path):
    assert (await client.request(method, path)).status_code == 404


@pytest.mark.parametrize(("path", "params", "key"), [
    ("/backends/qpu.aria-1/characterizations", {"limit": 11}, "limit"),
    ("/backends/qpu.aria-1/characterizations", {"limit": "ten"}, "limit"),
    ("/backends/qpu.aria-1/characterizations", {"page": 0}, "page"),
    ("/backends/qpu.aria-1/characterizations", {"start": "yesterday"}, "start"),
    ("/jobs", {"limit": 0}, "limit"),
    ("/jobs", {"status": "running"}, "status"),
    ("/jobs", {"next": "not-a-cursor"}, "next"),
    ("/jobs/estimate", {}, "backend"),
    ("/jobs/estimate", {"backend": "qpu.nowhere"}, "backend"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "shots": -1}, "shots"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "qubits": 99}, "qubits"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "1q_gates": "x"}, "1q_gates"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "error_mitigation": "maybe"}, "error_mitigation"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "type": "ionq.nonsense"}, "type"),
    ("/sessions", {"active": "perhaps"}, "active"),
    # present but empty, or not of the parameter's type: never read as if absent
    ("/jobs", {"status": ""}, "status"),
    ("/jobs", {"limit": ""}, "limit"),
    ("/jobs", {"next": ""}, "next"),
    ("/jobs", {"ids": ""}, "ids"),
    ("/jobs", {"ids": "false"}, "ids"),
    ("/jobs", {"ids": "5f0c6c1e-3c3b-4d8e-9a8e-2d3f0c1b2a10,"}, "ids"),
    ("/jobs", {"parent_job_id": ""}, "parent_job_id"),
    ("/jobs", {"parent_job_id": "not-a-job"}, "parent_job_id"),
    ("/jobs", {"session_id": ""}, "session_id"),
    ("/jobs", {"submitter_id": "nobody"}, "submitter_id"),
    ("/jobs", {"target": ""}, "target"),
    ("/jobs", {"target": "qpu.aria-1,"}, "target"),
    ("/backends/qpu.aria-1/characterizations", {"limit": ""}, "limit"),
    ("/backends/qpu.aria-1/characterizations", {"page": ""}, "page"),
    ("/backends/qpu.aria-1/characterizations", {"start": ""}, "start"),
    ("/jobs/estimate", {"backend": ""}, "backend"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "type": ""}, "type"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "shots": ""}, "shots"),
    ("/jobs/estimate", {"backend": "qpu.aria-1", "error_mitigation": ""}, "error_mitigation"),
    ("/sessions", {"active": ""}, "active"),
])
async def test_bad_query_parameters_are_400_naming_them(client, path, params, key):
    body = assert_error(await client.get(path, params=params), 400, key)
    assert body["validation"]["source"] == "query"


async def test_bad_usage_queries(client):
    base = f"/organizations/{KEY_A.organization_id}/usage"
    good = {"start_date": "2025-01-01", "end_date": "2025-02-01", "group_by": "project", "modality": "daily"}
    for key, value in [("start_date", "Jan 1"), ("end_date", "2024-01-01"), ("group_by", "team"),
                       ("modality", "hourly")]:
        assert_error(await client.get(base, params={**good, key: value}), 400, key)
    for key in good:
        assert_error(await client.get(base, params={k: v for k, v in good.items() if k != key}), 400, key)
    assert_error(await client.get("/organizations/someone-else/usage", params=good), 404, "organization_id")


@pytest.mark.parametrize(("body", "key"), [
    ({}, "ids"),
    ({"ids": "abc"}, "ids"),
    ({"ids": [1]}, "ids[0]"),
    ({"ids": [], "extra": 1}, "extra"),
])
async def test_bad_bulk_bodies(client, body, key):
    assert_error(await client.request("DELETE", "/jobs", json=body), 400, key)
    assert_error(await client.put("/jobs/status/cancel", json=body), 400, key)


@pytest.mark.parametrize(("body", "key"), [
    ({}, "backend"),
    ({"backend": 7}, "backend"),
    ({"backend": "qpu.nowhere"}, "backend"),
    ({"backend": "qpu.aria-1", "settings": {"job_count_limit": "ten"}}, "settings.job_count_limit"),
    ({"backend": "qpu.aria-1", "settings": {"job_count_limit": 0}}, "settings.job_count_limit"),
    ({"backend": "qpu.aria-1", "settings": {"job_count_limit": 2**31}}, "settings.job_count_limit"),
    # an expiry 10**14 minutes away is past year 9999 (was a 500: OverflowError)
    ({"backend": "qpu.aria-1", "settings": {"duration_limit_min": 10**14}}, "settings.duration_limit_min"),
    ({"backend": "qpu.aria-1", "settings": {"duration_limit_min": 1e300}}, "settings.duration_limit_min"),
    ({"backend": "qpu.aria-1", "settings": {"duration_limit_min": 0}}, "settings.duration_limit_min"),
    ({"backend": "qpu.aria-1", "settings": {"cost_limit": {"unit": "usd"}}}, "settings.cost_limit.value"),
    ({"backend": "qpu.aria-1", "settings": {"cost_limit": {"unit": "usd", "value": -5}}},
     "settings.cost_limit.value"),
    ({"backend": "qpu.aria-1", "settings": {"forever": True}}, "settings.forever"),
])
async def test_bad_session_bodies(client, sandbox, body, key):
    assert_error(await client.post("/sessions", json=body), 400, key)
    assert (await client.get("/sessions")).json()["sessions"] == []


async def test_compiled_circuit_language_must_be_native_or_qasm3(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    assert_error(await client.get(f"/jobs/{job['id']}/circuits/quil"), 400, "lang")


async def test_unknown_route_and_method_use_the_ionq_error_shape(client):
    assert (await client.get("/nowhere")).json()["statusCode"] == 404
    response = await client.patch("/jobs")
    assert response.status_code == 405 and response.json()["statusCode"] == 405


# ---------------------------------------------------------------------------------------------------- auth


SECURED = [("GET", "/whoami"), ("GET", "/jobs"), ("POST", "/jobs"), ("DELETE", "/jobs"),
           ("GET", "/jobs/estimate"), ("PUT", "/jobs/status/cancel"), ("GET", "/jobs/x"), ("DELETE", "/jobs/x"),
           ("GET", "/jobs/x/cost"), ("GET", "/jobs/x/circuits/native"), ("PUT", "/jobs/x/status/cancel"),
           ("GET", "/jobs/x/results/probabilities"), ("GET", "/jobs/x/variants/v/results/histogram"),
           ("POST", "/sessions"), ("GET", "/sessions"), ("POST", "/sessions/s/end"), ("GET", "/sessions/s"),
           ("GET", "/sessions/s/jobs"), ("GET", "/organizations/o/usage"),
           ("GET", "/backends/qpu.aria-1/characterizations/x")]


@pytest.mark.parametrize(("method", "path"), SECURED)
async def test_secured_routes_need_a_key(anonymous, sandbox, method, path):
    response = await anonymous.request(method, path, json={"ids": []} if method != "GET" else None)
    assert_error(response, 401)
    wrong = await anonymous.request(method, path, headers={"Authorization": "apiKey wrong"})
    assert_error(wrong, 401)
    assert "wrong" not in wrong.text


@pytest.mark.parametrize("path", ["/backends", "/backends/qpu.aria-1", "/backends/qpu.aria-1/characterizations"])
async def test_backend_lists_are_public(anonymous, path):
    assert (await anonymous.get(path)).status_code == 200


async def test_whoami_names_the_key_and_project(client, other):
    me = (await client.get("/whoami")).json()
    assert me == {"key_id": KEY_A.key_id, "key_name": KEY_A.name, "project_id": KEY_A.project_id}
    assert (await other.get("/whoami")).json()["project_id"] == KEY_B.project_id
    assert KEY_A.key not in str(me) and KEY_A.key not in repr(KEY_A)


# ----------------------------------------------------------------------------------------------- scoping


async def test_jobs_are_scoped_to_their_project(client, other, sandbox):
    job = await run(client, sandbox, circuit_job())
    job_id = job["id"]
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/cost", f"/jobs/{job_id}/results/probabilities",
                 f"/jobs/{job_id}/circuits/qasm3"):
        assert_error(await other.get(path), 404, "UUID")
    assert_error(await other.put(f"/jobs/{job_id}/status/cancel"), 404, "UUID")
    assert_error(await other.delete(f"/jobs/{job_id}"), 404, "UUID")
    assert_error(await other.request("DELETE", "/jobs", json={"ids": [job_id]}), 404, "ids[0]")
    assert_error(await other.put("/jobs/status/cancel", json={"ids": [job_id]}), 404, "ids[0]")
    assert (await other.get("/jobs")).json()["jobs"] == []
    assert (await client.get(f"/jobs/{job_id}")).status_code == 200


async def test_sessions_are_scoped_to_their_project(client, other):
    session = (await client.post("/sessions", json={"backend": "qpu.aria-1"})).json()
    assert_error(await other.get(f"/sessions/{session['id']}"), 404, "session_id")
    assert_error(await other.post(f"/sessions/{session['id']}/end"), 404, "session_id")
    assert (await other.get("/sessions")).json()["sessions"] == []
    assert_error(await other.post("/jobs", json=circuit_job(backend="qpu.aria-1", session_id=session["id"])),
                 404, "session_id")


async def test_empty_query_values_on_results_and_session_jobs_are_400(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    assert_error(await client.get(f"/jobs/{job['id']}/results/probabilities", params={"sharpen": ""}), 400,
                 "sharpen")
    session = (await client.post("/sessions", json={"backend": "qpu.aria-1"})).json()
    assert_error(await client.get(f"/sessions/{session['id']}/jobs", params={"status": ""}), 400, "status")


async def test_well_formed_list_filters_still_work(client, sandbox):
    job = await run(client, sandbox, circuit_job())
    for params in ({"ids": job["id"]}, {"ids": f"{job['id']},{job['id']}"}, {"target": "simulator"},
                   {"status": "completed"}, {"submitter_id": job["submitter_id"]}):
        listed = (await client.get("/jobs", params=params)).json()["jobs"]
        assert [j["id"] for j in listed] == [job["id"]], params
