#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Talks to a running quiltd with grpcio, an independent gRPC stack, so that the C
# transport is checked against someone else's idea of the protocol, not just our own
# client. Stubs are generated from proto/quilt.proto into a temporary directory.
#
#   test-grpc-interop.py TARGET
#
# TARGET is what QUILT_HOST takes: "unix:/path/quilt.sock" or "tcp:HOST:PORT". When
# $QUILT_TOKEN is set it is sent as "authorization: Bearer <token>". Prints TAP.
#
# Must run with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools).

import os
import shutil
import sys
import tempfile
from concurrent import futures

import grpc
from grpc_tools import protoc

PROTO_DIR = os.environ.get(
    "QUILT_PROTO_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proto"))

n = 0
failed = 0


def ok(name):
    global n
    n += 1
    print(f"ok {n} - {name}", flush=True)


def not_ok(name, why):
    global n, failed
    n += 1
    failed += 1
    print(f"not ok {n} - {name}", flush=True)
    for line in str(why).splitlines():
        print(f"#   {line}", flush=True)


def skip(name, why):
    global n
    n += 1
    print(f"ok {n} - {name} # SKIP {why}", flush=True)


def check(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is a test failure
        not_ok(name, f"{type(e).__name__}: {e}")
    else:
        ok(name)


def expect_code(fn, code):
    try:
        fn()
    except grpc.RpcError as e:
        if e.code() != code:
            raise AssertionError(f"expected {code}, got {e.code()}: {e.details()}") from None
        return e.details()
    raise AssertionError(f"expected {code}, the call succeeded")


def generate_stubs(outdir):
    rc = protoc.main([
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={outdir}",
        f"--grpc_python_out={outdir}",
        os.path.join(PROTO_DIR, "quilt.proto"),
    ])
    if rc != 0:
        raise RuntimeError(f"grpc_tools.protoc failed with {rc}")
    sys.path.insert(0, outdir)


def grpc_target(host):
    # grpcio takes "unix:/path" as is and TCP as plain "HOST:PORT".
    if host.startswith("tcp:"):
        return host[len("tcp:"):]
    return host


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} TARGET", file=sys.stderr)
        return 2

    tmp = tempfile.mkdtemp(prefix="quilt-interop.")
    try:
        generate_stubs(tmp)
        import quilt_pb2 as pb
        import quilt_pb2_grpc as pb_grpc

        token = os.environ.get("QUILT_TOKEN")
        md = [("authorization", f"Bearer {token}")] if token else None
        timeout = 10

        with grpc.insecure_channel(grpc_target(sys.argv[1])) as channel:
            stub = pb_grpc.QuiltServiceStub(channel)

            def get_health():
                r = stub.GetHealth(pb.GetHealthRequest(), timeout=timeout, metadata=md)
                assert r.status in ("healthy", "degraded"), f"status is {r.status!r}"
                assert r.healthy == (r.status == "healthy"), f"healthy={r.healthy} but status={r.status!r}"
                names = [c.name for c in r.checks]
                assert "database" in names, f"checks are {names}"
                db = next(c for c in r.checks if c.name == "database")
                assert db.healthy, f"database check failed: {db.message}"
                assert db.message, "database check has no message"
            check("GetHealth answers with real checks, database among them", get_health)

            def get_system_info():
                r = stub.GetSystemInfo(pb.GetSystemInfoRequest(), timeout=timeout, metadata=md)
                assert r.version, "version is empty"
                assert r.runtime.startswith("linux/"), f"runtime is {r.runtime!r}"
                assert len(r.features) > 0, "features map is empty"
                assert r.start_time > 0, "start_time is 0"
            check("GetSystemInfo reports version, runtime and features", get_system_info)

            def concurrent_calls():
                # More calls at once than quiltd pre-posts per method, so that re-posting
                # is exercised too.
                with futures.ThreadPoolExecutor(max_workers=16) as pool:
                    results = list(pool.map(
                        lambda _: stub.GetHealth(pb.GetHealthRequest(), timeout=timeout, metadata=md),
                        range(64)))
                assert all(r.status for r in results), "an answer without status"
            check("64 concurrent GetHealth calls all answered", concurrent_calls)

            def stream_events():
                # Server streaming through grpcio: a replay that ends with OK, a follower
                # that runs into its deadline, and an error before any message.
                events = list(stub.StreamEvents(pb.StreamEventsRequest(since=0, until_now=True),
                                                timeout=timeout, metadata=md))
                cursors = [e.cursor for e in events]
                assert cursors == sorted(cursors), f"cursors out of order: {cursors}"
                expect_code(lambda: list(stub.StreamEvents(pb.StreamEventsRequest(), timeout=0.3, metadata=md)),
                            grpc.StatusCode.DEADLINE_EXCEEDED)
                details = expect_code(
                    lambda: list(stub.StreamEvents(pb.StreamEventsRequest(event_types=["bogus"]),
                                                   timeout=timeout, metadata=md)),
                    grpc.StatusCode.INVALID_ARGUMENT)
                assert "bogus" in details, f"details {details!r} do not name the type"
            check("StreamEvents streams: replay ends OK, follow runs to its deadline, errors arrive", stream_events)

            # Which RPCs have no handler yet changes as quiltd grows: use the first read-only
            # one that answers UNIMPLEMENTED.
            unimplemented = None
            for name in ("ListCleanupTasks", "GetCleanupStatus", "ListContainerCleanupTasks",
                         "ListMonitoringProcesses", "ListActiveMonitors"):
                try:
                    getattr(stub, name)(getattr(pb, name + "Request")(), timeout=timeout, metadata=md)
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                        unimplemented = name
                        break
            if unimplemented:
                def unary_unimplemented():
                    details = expect_code(
                        lambda: getattr(stub, unimplemented)(getattr(pb, unimplemented + "Request")(),
                                                             timeout=timeout, metadata=md),
                        grpc.StatusCode.UNIMPLEMENTED)
                    assert unimplemented in details, f"details {details!r} do not name the RPC"
                check(f"{unimplemented} (no handler yet) is UNIMPLEMENTED", unary_unimplemented)
            else:
                skip("an RPC without a handler is UNIMPLEMENTED", "every read-only RPC is implemented")

            def list_dns_entries():
                r = stub.ListDnsEntries(pb.ListDnsEntriesRequest(), timeout=timeout, metadata=md)
                assert r.success, f"success is false: {r.error_message!r}"
                assert len(r.entries) == 0, f"entries without containers: {r.entries!r}"
            check("ListDnsEntries answers, with no entries while no container runs", list_dns_entries)

            def unknown_method():
                call = channel.unary_unary("/quilt.QuiltService/NoSuchMethod",
                                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
                expect_code(lambda: call(b"", timeout=timeout, metadata=md), grpc.StatusCode.UNIMPLEMENTED)
            check("an unknown method is UNIMPLEMENTED, promptly", unknown_method)

            def undecodable():
                call = channel.unary_unary("/quilt.QuiltService/GetHealth",
                                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
                # Field 1, length-delimited, claims 5 bytes and has 2.
                details = expect_code(lambda: call(b"\x0a\x05ab", timeout=timeout, metadata=md),
                                      grpc.StatusCode.INVALID_ARGUMENT)
                assert "GetHealthRequest" in details and "decode" in details, f"details are {details!r}"
            check("an undecodable request is INVALID_ARGUMENT naming the message", undecodable)

            # Only meaningful once containers are served.
            try:
                stub.GetContainerStatus(pb.GetContainerStatusRequest(container_id="no-such-container-0123"),
                                        timeout=timeout, metadata=md)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    skip("GetContainerStatus of an unknown container is NOT_FOUND", "not implemented yet")
                elif e.code() == grpc.StatusCode.NOT_FOUND:
                    ok("GetContainerStatus of an unknown container is NOT_FOUND")
                else:
                    not_ok("GetContainerStatus of an unknown container is NOT_FOUND",
                           f"got {e.code()}: {e.details()}")
            else:
                not_ok("GetContainerStatus of an unknown container is NOT_FOUND", "the call succeeded")

            check("the daemon still answers afterwards",
                  lambda: stub.GetHealth(pb.GetHealthRequest(), timeout=timeout, metadata=md))
    except Exception as e:  # noqa: BLE001
        print(f"Bail out! {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"1..{n}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
