#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The quilt CLI against a scripted QuiltService (grpcio): what each command sends and
# how it presents the answers, independent of what quiltd implements today. The real
# daemon's behaviour is checked by the integration tests; this checks the CLI's half of
# the contract: request fields, output, exit statuses, signal forwarding of quilt run.
#
#   test-cli-mock.py QUILT-BINARY
#
# Needs no root. Skips (77) when grpcio or grpc_tools is missing. Prints TAP.

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

try:
    import grpc
    from google.protobuf import symbol_database
    from grpc_tools import protoc
except ImportError as e:
    print(f"1..0 # SKIP {e}")
    sys.exit(77)

PROTO_DIR = os.environ.get(
    "QUILT_PROTO_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "proto"))

n = 0
failed = 0


def tap(cond, name, why=""):
    global n, failed
    n += 1
    if cond:
        print(f"ok {n} - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok {n} - {name}", flush=True)
        for line in str(why).splitlines():
            print(f"#   {line}", flush=True)


def tap_is(got, expected, name):
    tap(got == expected, name, f"got      {got!r}\nexpected {expected!r}")


ID = "0123456789abcdef0123456789abcdef"
CHUNK = 4 * 1024 * 1024 - 64 * 1024  # QUILT_FILE_CHUNK_MAX


class Service:
    """Remembers every request; answers from `script`, set by each test case."""

    def __init__(self, pb):
        self.pb = pb
        self.calls = []  # (method, request)
        self.wait_reply = None
        self.wait_event = threading.Event()
        self.logs = []
        self.kill_releases_wait = False
        self.containers = []
        self.stream_logs = True    # False: StreamContainerLogs is UNIMPLEMENTED, as in an older quiltd
        self.stream_error = None   # (code, message) to end the stream with
        self.volumes = []
        self.files = {}  # path -> FileInfo-ish dict for the fake container file system
        self.written = {}  # path -> bytes written through WriteFile
        self.events = []
        self.events_error = None  # (code, details) after the events
        self.exec_reply = None
        self.exec_outputs = None  # ExecContainerStream's messages; None: not implemented
        self.allocations = []

    def record(self, method, request):
        self.calls.append((method, request))

    def requests(self, method):
        return [r for m, r in self.calls if m == method]

    def methods(self):
        return [m for m, _ in self.calls]

    def log_entries(self, request):
        entries = [m if isinstance(m, self.pb.LogEntry) else
                   self.pb.LogEntry(timestamp=1_700_000_000_000, message=m, stream="stdout") for m in self.logs]
        if request.streams:
            entries = [e for e in entries if e.stream in request.streams]
        return entries

    def handler(self, method, request, context):
        pb = self.pb
        self.record(method, request)
        if method == "CreateContainer":
            return pb.CreateContainerResponse(container_id=ID, success=True)
        if method == "WaitContainer":
            # Answers once the event is set, or after the client's deadline like a real
            # waiter would. quilt run waits without a deadline: at most 10 s here.
            if not self.wait_event.wait(timeout=max(min(context.time_remaining() or 10, 10), 0)):
                context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline")
            return self.wait_reply
        if method == "GetContainerLogs":
            return pb.GetContainerLogsResponse(container_id=ID, logs=self.log_entries(request))
        if method == "RemoveContainer":
            return pb.RemoveContainerResponse(success=True)
        if method == "KillContainer":
            if self.kill_releases_wait:
                sig = {"SIGINT": 2, "SIGTERM": 15, "SIGKILL": 9}.get(request.signal, 9)
                self.wait_reply = pb.WaitContainerResponse(container_id=ID, status=pb.EXITED, exit_signal=sig)
                self.wait_event.set()
            return pb.KillContainerResponse(success=True)
        if method == "StopContainer":
            return pb.StopContainerResponse(success=True)
        if method == "StartContainer":
            return pb.StartContainerResponse(success=True, pid=42)
        if method == "ListContainers":
            return pb.ListContainersResponse(containers=self.containers)
        if method == "GetContainerStatus":
            ref = request.container_id or request.container_name
            match = [c for c in self.containers if ref in (c.container_id, c.name)]
            if not match:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no such container: {ref}")
            ci = match[0]
            return pb.GetContainerStatusResponse(
                container_id=ci.container_id, status=ci.status, exit_code=ci.exit_code, exit_signal=ci.exit_signal,
                oom_killed=ci.oom_killed, name=ci.name, created_at=ci.created_at, ip_address=ci.ip_address,
                container=ci)
        if method == "CreateVolume":
            return pb.CreateVolumeResponse(success=True, volume=pb.Volume(name=request.name, driver="local"))
        if method == "ListVolumes":
            return pb.ListVolumesResponse(volumes=self.volumes)
        if method == "InspectVolume":
            for v in self.volumes:
                if v.name == request.name:
                    return pb.InspectVolumeResponse(found=True, volume=v)
            return pb.InspectVolumeResponse(found=False, error_message=f"Volume '{request.name}' not found")
        if method == "RemoveVolume":
            if request.name == "busy" and not request.force:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Volume 'busy' is in use by 1 container(s): a")
            return pb.RemoveVolumeResponse(success=True)
        if method == "PruneVolumes":
            return pb.PruneVolumesResponse(volumes_deleted=["old1", "old2"])
        if method == "ListFiles":
            f = self.files.get(request.path.rstrip("/") or "/")
            if f is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"{request.path}: No such file or directory")
            entries = [] if f["type"] != pb.FILE_TYPE_DIRECTORY else [
                pb.FileInfo(path=p.rsplit("/", 1)[1], type=e["type"], mode=e["mode"], size=len(e.get("data", b"")),
                            link_target=e.get("link", ""))
                for p, e in sorted(self.files.items())
                if p != request.path and p.rsplit("/", 1)[0] == request.path.rstrip("/")]
            return pb.ListFilesResponse(info=pb.FileInfo(path=request.path, type=f["type"], mode=f["mode"]),
                                        entries=entries[request.skip:])
        if method == "ReadFile":
            f = self.files[request.path]
            data = f["data"][request.offset:request.offset + 3]  # tiny chunks: the client must loop
            return pb.ReadFileResponse(data=data, offset=request.offset, eof=request.offset + len(data) >= len(f["data"]),
                                       info=pb.FileInfo(path=request.path, type=f["type"], mode=f["mode"]))
        if method == "WriteFile":
            self.written.setdefault(request.path, []).append(request)
            return pb.WriteFileResponse(written=len(request.data))
        if method == "ExecContainer" and self.exec_reply is not None:
            return self.exec_reply
        if method == "ListNetworkAllocations":
            return pb.ListNetworkAllocationsResponse(allocations=self.allocations)
        if method == "ComprehensiveNetworkCleanup":
            return pb.ComprehensiveNetworkCleanupResponse(
                success=True, cleaned_resources=["bridge quilt0", "nftables table ip quilt"])
        if method == "GetContainerNetwork":
            # A scripted container answers with its own address (none: no network config);
            # any other name gets a fixed, fully filled network (for network inspect).
            match = [c for c in self.containers if request.container_id in (c.container_id, c.name)]
            if match:
                ip = match[0].ip_address
                return pb.GetContainerNetworkResponse(success=True, network_config=pb.ContainerNetworkConfig(
                    ip_address=ip, bridge_interface="quilt0" if ip else "", setup_completed=bool(ip)))
            return pb.GetContainerNetworkResponse(success=True, network_config=pb.ContainerNetworkConfig(
                ip_address="10.42.0.7", bridge_interface="quilt0", veth_host="vq0123456789ab", veth_container="eth0",
                setup_completed=True, status="active"))
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not scripted")

    def stream(self, method, request, context):
        self.record(method, request)
        if method == "StreamContainerLogs" and self.stream_logs:
            entries = self.log_entries(request)
            # In chunks of two, as quiltd sends what it read together.
            for i in range(0, len(entries), 2):
                yield self.pb.GetContainerLogsResponse(container_id=ID, logs=entries[i:i + 2])
            if self.stream_error:
                context.abort(*self.stream_error)
            return
        if method == "ExecContainerStream" and self.exec_outputs is not None:
            yield from self.exec_outputs
            return
        if method != "StreamEvents":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not scripted")
        yield from self.events
        if self.events_error:
            context.abort(*self.events_error)


def serve(pb, svc, sock):
    methods = pb.DESCRIPTOR.services_by_name["QuiltService"].methods
    handlers = {}
    for m in methods:
        req_cls = symbol_database.Default().GetSymbol(m.input_type.full_name)
        if m.server_streaming:
            if m.client_streaming:
                continue

            def make_stream(name):
                return lambda request, context: svc.stream(name, request, context)

            handlers[m.name] = grpc.unary_stream_rpc_method_handler(
                make_stream(m.name), request_deserializer=req_cls.FromString,
                response_serializer=lambda r: r.SerializeToString())
            continue

        def make(name):
            return lambda request, context: svc.handler(name, request, context)

        handlers[m.name] = grpc.unary_unary_rpc_method_handler(
            make(m.name), request_deserializer=req_cls.FromString,
            response_serializer=lambda r: r.SerializeToString())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("quilt.QuiltService", handlers),))
    server.add_insecure_port(f"unix:{sock}")
    server.start()
    return server


def main():
    quilt = os.path.abspath(sys.argv[1])  # the commands run in a temporary directory
    tmp = tempfile.mkdtemp(prefix="quilt-cli-mock.")
    try:
        rc = protoc.main(["grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={tmp}",
                          os.path.join(PROTO_DIR, "quilt.proto")])
        if rc != 0:
            print(f"Bail out! protoc failed with {rc}")
            return 1
        sys.path.insert(0, tmp)
        import quilt_pb2 as pb

        sock = os.path.join(tmp, "quilt.sock")
        env = dict(os.environ, QUILT_HOST=f"unix:{sock}")
        env.pop("QUILT_TOKEN", None)

        def cli(*args, env=env, **kw):
            return subprocess.run([quilt, *args], env=env, capture_output=True, text=True, timeout=30, cwd=tmp, **kw)

        svc = Service(pb)
        server = serve(pb, svc, sock)

        def reset():
            svc.calls.clear()
            svc.wait_event.clear()
            svc.wait_reply = None
            svc.logs = []
            svc.kill_releases_wait = False
            svc.stream_logs = True
            svc.stream_error = None
            svc.events = []
            svc.events_error = None

        # --- create ---------------------------------------------------------------
        os.mkdir(os.path.join(tmp, "rootfs"))
        r = cli("create", "--name", "web", "--image", "./rootfs", "--memory", "1g", "--cpu", "25", "--pids", "64",
                "--rm", "--label", "task=42", "-l", "tier=", "--user", "nobody:nogroup", "--pid", "host",
                "--network", "host", "-e", "A=1", "-w", "/srv", "--", "sh", "-c", "echo 'a b'")
        tap_is((r.returncode, r.stdout, r.stderr), (0, ID + "\n", ""), "create prints only the id")
        req = svc.requests("CreateContainer")[-1]
        tap_is(list(req.command), ["sh", "-c", "echo 'a b'"], "create sends the argv verbatim")
        tap_is((req.pids_limit, req.auto_remove, dict(req.labels), req.user),
               (64, True, {"task": "42", "tier": ""}, "nobody:nogroup"), "create sends pids_limit, auto_remove, labels, user")
        tap_is(list(req.host_namespaces), ["pid", "network"], "create sends host_namespaces")
        tap_is(req.network, "host", "create --network host sends network host")
        tap_is((req.memory_limit_mb, req.cpu_limit_percent, req.name, req.working_directory, dict(req.environment)),
               (1024, 25.0, "web", "/srv", {"A": "1"}), "create sends limits, name, workdir, env")
        tap_is(req.image_path, os.path.realpath(os.path.join(tmp, "rootfs")), "create makes a relative image path absolute")
        tap_is(req.async_mode, False, "create is synchronous by default")

        r = cli("create", "--json", "--async-mode")
        tap(r.returncode == 0 and json.loads(r.stdout)["container_id"] == ID, "create --json prints the reply", r)
        tap_is(svc.requests("CreateContainer")[-1].network, "quilt", "create sends network quilt by default")
        cli("create", "--no-network", "--", "true")
        tap_is(svc.requests("CreateContainer")[-1].network, "none", "create --no-network sends network none")
        cli("create", "--network", "none", "--", "true")
        tap_is(svc.requests("CreateContainer")[-1].network, "none", "create --network none sends network none")

        # --- run ------------------------------------------------------------------
        reset()
        svc.logs = ["hi", pb.LogEntry(message="oops", stream="stderr"), "there",
                    pb.LogEntry(message="Container exited with code 3", stream="system", event="exited")]
        svc.wait_reply = pb.WaitContainerResponse(container_id=ID, status=pb.EXITED, exit_code=3)
        threading.Timer(1.2, svc.wait_event.set).start()  # a wait that takes a while
        r = cli("run", "--rm", "--name", "job", "--", "sh", "-c", "exit 3")
        tap_is((r.returncode, r.stdout, r.stderr), (3, "hi\nthere\n", "oops\n"),
               "run prints stdout and stderr apart, exits with the status")
        tap_is(list(svc.requests("StreamContainerLogs")[-1].streams), ["stdout", "stderr"],
               "run asks for the output only, not the lifecycle lines")
        tap_is(svc.requests("CreateContainer")[-1].auto_remove, False,
               "run --rm does not ask quiltd to remove (it would race the logs)")
        ms = svc.methods()
        tap(ms[0] == "CreateContainer" and ms[-2:] == ["StreamContainerLogs", "RemoveContainer"] and "WaitContainer" in ms,
            "run: create, wait, logs, then remove", ms)
        tap_is(ms.count("WaitContainer"), 1, "run waits in one call, not in slices")

        reset()
        svc.wait_reply = pb.WaitContainerResponse(container_id=ID, status=pb.EXITED, exit_signal=9, oom_killed=True)
        svc.wait_event.set()
        svc.containers = [pb.ContainerInfo(container_id=ID, name="hungry", status=pb.EXITED, exit_signal=9,
                                           oom_killed=True)]
        r = cli("run", "--", "tail", "/dev/zero")
        tap_is(r.returncode, 137, "run exits 128+9 when SIGKILL ended the command")
        tap_is(r.stderr, "quilt: container hungry was killed: out of memory\n", "run says when the OOM killer did it")
        tap("RemoveContainer" not in svc.methods(), "run without --rm keeps the container")

        reset()
        svc.wait_reply = pb.WaitContainerResponse(container_id=ID, status=pb.FAILED, error_message="no such file")
        svc.wait_event.set()
        r = cli("run", "--name", "bad", "--", "/nope")
        tap_is(r.returncode, 125, "run exits 125 when the command never ran")
        tap_is(r.stderr, "quilt: container bad failed: no such file\n", "run says why the container failed")

        reset()
        svc.kill_releases_wait = True
        p = subprocess.Popen([quilt, "run", "--rm", "--", "sleep", "100"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if svc.requests("WaitContainer"):
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        kills = [k.signal for k in svc.requests("KillContainer")]
        tap_is(kills, ["SIGINT"], "run passes SIGINT on to the command")
        tap_is(p.returncode, 130, "run then exits 128+2")
        tap_is(svc.methods()[-1], "RemoveContainer", "run --rm still removes the container after SIGINT")

        # --- logs -----------------------------------------------------------------
        def logs_req(*args):
            reset()
            r = cli("logs", *args)
            reqs = svc.requests("StreamContainerLogs")
            return r, (reqs[-1] if reqs else None)

        r, req = logs_req("-n", "5", "web")
        tap_is((r.returncode, req.container_id, req.container_name, req.WhichOneof("tail_present"), req.tail),
               (0, "web", "", "tail", 5), "logs -n 5 web: -n with a number is --tail")
        r, req = logs_req("web", "-n", "7")
        tap_is((req.container_id, req.tail), ("web", 7), "logs web -n 7: also after CONTAINER")
        r, req = logs_req("-n", "web")
        tap_is((req.container_id, req.container_name, req.WhichOneof("tail_present")), ("", "web", None),
               "logs -n web: -n alone is --by-name (the original CLI)")
        r, req = logs_req("--by-name", "12")
        tap_is((req.container_name, req.WhichOneof("tail_present")), ("12", None), "logs --by-name 12")
        now = time.time()
        r, req = logs_req("--tail", "0", "--since", "10m", "--until", "@4102444800.5", "--stream", "stdout,system", "web")
        tap(r.returncode == 0 and req.WhichOneof("tail_present") == "tail" and req.tail == 0 and
            abs(req.since_usec / 1e6 - (now - 600)) < 5 and req.until_usec == 4_102_444_800_500_000 and
            list(req.streams) == ["stdout", "system"] and not req.follow,
            "logs sends tail 0, since (a duration ago), until (@seconds.fraction) and streams", (r, req))
        r, req = logs_req("--since", "2025-06-01T12:00:00Z", "--until", "2025-06-01T14:00:01.25+02:00", "web")
        tap_is((req.since_usec, req.until_usec), (1_748_779_200_000_000, 1_748_779_201_250_000),
               "logs parses RFC 3339 times with Z, offsets and fractions")
        for bad, what in ((["--since", "yesterday"], "--since"), (["--stream", "stdin"], "--stream"),
                          (["--tail", "-1"], "--tail"), (["--since", "1m", "--until", "2m"], "--until")):
            r, req = logs_req(*bad, "web")
            tap(r.returncode == 2 and what in r.stderr and req is None,
                f"logs {' '.join(bad)}: a usage error naming {what}, no call", r)

        reset()
        svc.logs = [pb.LogEntry(message="Container started, init pid 7", stream="system", event="started",
                                timestamp_usec=1_700_000_000_000_001),
                    pb.LogEntry(message="out", stream="stdout", timestamp_usec=1_700_000_000_123_456),
                    pb.LogEntry(message="err", stream="stderr", timestamp_usec=1_700_000_000_200_000),
                    pb.LogEntry(message="par", stream="stdout", partial=True, timestamp_usec=1_700_000_000_300_000),
                    pb.LogEntry(message="tial", stream="stdout", timestamp_usec=1_700_000_000_400_000),
                    pb.LogEntry(message="\ufffdbin\ufffd", raw=b"\x00bin\xff", stream="stdout",
                                timestamp_usec=1_700_000_000_500_000)]
        r = subprocess.run([quilt, "logs", "web"], env=env, capture_output=True, timeout=30, cwd=tmp)
        tap_is((r.returncode, r.stdout, r.stderr),
               (0, b"out\npartial\n\x00bin\xff\n", b"-- Container started, init pid 7 --\nerr\n"),
               "logs: stdout lines on stdout, stderr and lifecycle lines on stderr, partial lines joined, raw bytes")
        r = cli("logs", "-t", "web", env=dict(env, TZ="UTC"), errors="replace")
        tap_is(r.stdout.splitlines()[:2], ["2023-11-14T22:13:20.123456+00:00 out",
                                           "2023-11-14T22:13:20.300000+00:00 partial"],
               "logs -t: RFC 3339 with microseconds, once per line")
        tap_is(r.stderr.splitlines()[0], "2023-11-14T22:13:20.000001+00:00 -- Container started, init pid 7 --",
               "logs -t: lifecycle lines too")
        r = cli("logs", "--json", "web")
        j = json.loads(r.stdout)
        tap(r.returncode == 0 and j["logs"][1]["message"] == "out" and j["logs"][1]["stream"] == "stdout",
            "logs --json prints GetContainerLogs' reply", r)
        tap_is(svc.methods()[-1], "GetContainerLogs", "... which it calls for that")
        r = cli("logs", "-f", "--json", "web")
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        tap(r.returncode == 0 and len(lines) == 6 and lines[1]["message"] == "out",
            "logs -f --json prints one JSON object per line", r)

        r, req = logs_req("-f", "web")
        tap(r.returncode == 0 and req.follow, "logs -f streams with follow set", (r, req))
        tap(req.WhichOneof("tail_present") is None and not req.streams, "... and no other filter", req)
        tap_is(svc.methods(), ["StreamContainerLogs"], "... and makes no other call")
        r, req = logs_req("web")
        tap(r.returncode == 0 and not req.follow, "logs without -f streams too, without follow", (r, req))

        reset()
        svc.stream_logs = False
        svc.logs = ["old"]
        r = cli("logs", "web")
        tap_is((r.returncode, r.stdout, svc.methods()), (0, "old\n", ["StreamContainerLogs", "GetContainerLogs"]),
               "logs falls back to GetContainerLogs when quiltd has no StreamContainerLogs")
        r = cli("logs", "-f", "web")
        tap(r.returncode == 1 and "--follow: not supported by this quiltd" in r.stderr,
            "logs -f says so when quiltd cannot follow", r)

        reset()
        svc.logs = ["before"]
        svc.stream_error = (grpc.StatusCode.NOT_FOUND, "container 'web' not found")
        r = cli("logs", "-f", "web")
        tap_is((r.returncode, r.stdout, r.stderr),
               (1, "before\n", "quilt: logs: container 'web' not found (NOT_FOUND)\n"),
               "an error status ends the stream: printed like any failed call, exit 1")

        # --- wait, stop, kill, start, rm --------------------------------------------
        reset()
        svc.wait_reply = pb.WaitContainerResponse(container_id=ID, status=pb.EXITED, exit_signal=15)
        svc.wait_event.set()
        r = cli("wait", "a", "b")
        tap_is((r.returncode, r.stdout), (0, "143\n143\n"), "wait prints each exit status and exits 0")
        tap_is([x.container_id for x in svc.requests("WaitContainer")], ["a", "b"], "wait sends each container")

        reset()
        cli("stop", "-t", "0", "a")
        cli("stop", "b")
        s0, s1 = svc.requests("StopContainer")
        tap(s0.WhichOneof("grace_present") == "grace_seconds" and s0.grace_seconds == 0,
            "stop -t 0 sends grace_seconds 0 explicitly", s0)
        tap(s1.WhichOneof("grace_present") is None, "stop without -t leaves the grace period to quiltd", s1)

        reset()
        cli("kill", "-s", "term", "a")
        cli("kill", "-s", "9", "a")
        cli("kill", "-n", "web")
        k = svc.requests("KillContainer")
        tap_is([x.signal for x in k], ["SIGTERM", "SIGKILL", ""], "kill sends signal names, empty by default")
        tap_is((k[2].container_id, k[2].container_name), ("", "web"), "-n sends the reference as container_name")

        reset()
        r = cli("rm", "-f", "a", "b")
        tap_is((r.returncode, r.stdout), (0, "a\nb\n"), "rm removes each container")
        tap(all(x.force for x in svc.requests("RemoveContainer")), "rm -f sends force")

        # --- ps, status, inspect ----------------------------------------------------
        now = int(time.time())
        svc.containers = [
            pb.ContainerInfo(container_id=ID, name="web", status=pb.RUNNING, image="minimal",
                             command=["sh", "-c", "echo 'a b'"], created_at=now - 120, ip_address="10.42.0.7"),
            pb.ContainerInfo(container_id="f" * 32, name="hungry", status=pb.EXITED, exit_signal=9, oom_killed=True,
                             image="minimal", command=["tail", "/dev/zero"], created_at=now - 7200),
            pb.ContainerInfo(container_id="e" * 32, name="bad", status=pb.FAILED, error_message="no such file",
                             image="minimal", command=["/nope"], created_at=now - 5),
        ]
        reset()
        r = cli("ps")
        lines = r.stdout.splitlines()
        tap(r.returncode == 0 and lines[0].split() == ["ID", "NAME", "IMAGE", "COMMAND", "STATUS", "IP", "CREATED"],
            "ps prints the columns", r.stdout)
        tap(" 10.42.0.7 " in lines[1] and lines[2].split()[-4] == "-", "ps shows the address, '-' without one",
            r.stdout)
        tap("0123456789ab  web" in lines[1] and "sh -c 'echo '\\''a b'\\'''" in lines[1] and "running" in lines[1]
            and "2 minutes ago" in lines[1], "ps row: short id, quoted command, state, age", lines[1])
        tap("exited (signal 9, oom)" in lines[2], "ps shows a signal and the OOM kill", lines[2])
        tap("failed: no such file" in lines[3], "ps shows why a container failed", lines[3])
        req = svc.requests("ListContainers")[-1]
        tap(req.WhichOneof("state_filter_present") is None, "ps lists every state by default", req)

        reset()
        cli("ps", "--state", "exited", "--name", "hun", "--label", "task=42", "-f", "label=tier")
        req = svc.requests("ListContainers")[-1]
        tap_is((req.state_filter, req.name_filter, dict(req.label_filter)),
               ("exited", "hun", {"task": "42", "tier": ""}), "ps sends the state, name and label filters")

        r = cli("ps", "-q", "--name", "hun")
        tap_is(r.stdout, "f" * 32 + "\n", "ps -q prints ids; a name filter also applies to the reply")

        r = cli("ps", "--json")
        tap(r.returncode == 0 and len(json.loads(r.stdout)["containers"]) == 3, "ps --json prints the reply", r)

        svc.containers = svc.containers[1:]
        r = cli("status", "hungry")
        tap(r.returncode == 0 and "Name:        hungry" in r.stdout and "Signal:      9 (SIGKILL)" in r.stdout
            and "OOM killed:  yes" in r.stdout, "status shows the name, the signal and the OOM kill", r.stdout)

        r = cli("inspect", "hungry")
        j = json.loads(r.stdout) if r.returncode == 0 else {}
        tap(j.get("name") == "hungry" and j.get("oom_killed") is True and j.get("command") == ["tail", "/dev/zero"],
            "inspect prints the ContainerInfo as JSON", r)

        # --- mounts on create ------------------------------------------------------
        reset()
        r = cli("create", "--async-mode", "-v", "/srv/data:/data:ro", "-v", "cache/sub:/c",
                "--mount", "type=tmpfs,target=/t,size=10m,mode=700,exec", "--mount", "type=volume,src=v,dst=/v")
        req = svc.requests("CreateContainer")[-1]
        got = [(m.type, m.source, m.target, m.readonly, dict(m.options)) for m in req.mounts]
        tap_is(got, [(pb.BIND, "/srv/data", "/data", True, {}), (pb.VOLUME, "cache/sub", "/c", False, {}),
                     (pb.TMPFS, "", "/t", False, {"size": "10m", "mode": "700", "exec": "true"}),
                     (pb.VOLUME, "v", "/v", False, {})],
               "create sends -v and --mount as mounts (bind, volume with a path, tmpfs options)")
        for bad, why in [("a:b:c:d", "format"), ("../x:/x", "Path traversal detected"), ("/a:rel", "must be absolute"),
                         ("/a:/b:rox", "format")]:
            r = cli("create", "-v", bad, "--", "true")
            tap(r.returncode == 2 and why in r.stderr, f"-v {bad} is a usage error mentioning '{why}'", r.stderr)
        r = cli("create", "--mount", "type=tmpfs,target=/t,size=20g", "--", "true")
        tap(r.returncode == 2 and "between 1m and 10g" in r.stderr, "--mount tmpfs size is bounded", r.stderr)
        tap(not svc.requests("CreateContainer")[1:], "no request is sent for a bad mount")

        # --- volume ---------------------------------------------------------------
        reset()
        r = cli("volume", "create", "--label", "team=ml", "-o", "mode=0700", "data")
        req = svc.requests("CreateVolume")[-1]
        tap_is((r.returncode, r.stdout, req.name, dict(req.labels), dict(req.options)),
               (0, "data\n", "data", {"team": "ml"}, {"mode": "0700"}), "volume create sends name, labels, options")
        r = cli("volume", "create", ".hidden")
        tap(r.returncode == 2 and "invalid volume name" in r.stderr, "volume create checks the name", r.stderr)
        svc.volumes = [pb.Volume(name="data", driver="local", mount_point="/var/lib/quilt/volumes/data/_data",
                                 containers=["a", "b"], labels={"team": "ml"}, created_at=int(time.time()) - 60)]
        r = cli("volume", "ls", "--filter", "label=team=ml", "-f", "label=tier")
        req = svc.requests("ListVolumes")[-1]
        tap_is(dict(req.filters), {"team": "ml", "tier": ""}, "volume ls sends label filters (a bare key: any value)")
        tap(r.returncode == 0 and r.stdout.splitlines()[0].split()[:3] == ["NAME", "DRIVER", "CONTAINERS"]
            and "data  local   2" in r.stdout, "volume ls shows how many containers use each", r.stdout)
        r = cli("volume", "list", "-q")
        tap_is(r.stdout, "data\n", "volume list is ls")
        r = cli("volume", "inspect", "data")
        tap(r.returncode == 0 and "Containers:\n  a\n  b\n" in r.stdout, "volume inspect lists its containers", r.stdout)
        r = cli("volume", "inspect", "nope")
        tap(r.returncode == 1 and "Volume 'nope' not found" in r.stderr, "volume inspect of an unknown volume fails", r.stderr)
        r = cli("volume", "rm", "busy")
        tap(r.returncode == 1 and "in use" in r.stderr, "volume rm of a volume in use fails with quiltd's message", r.stderr)
        r = cli("volume", "remove", "-f", "busy", "free")
        tap_is((r.returncode, r.stdout), (0, "busy\nfree\n"), "volume remove -f sends force for each")
        tap(all(x.force for x in svc.requests("RemoveVolume")[-2:]), "... with force set")
        r = cli("volume", "prune", "--filter", "label=tmp")
        tap_is((r.returncode, r.stdout, dict(svc.requests("PruneVolumes")[-1].filters)), (0, "old1\nold2\n", {"tmp": ""}),
               "volume prune prints what quiltd removed")

        # --- cp -------------------------------------------------------------------
        reset()
        svc.files = {
            "/d": {"type": pb.FILE_TYPE_DIRECTORY, "mode": 0o750},
            "/d/f": {"type": pb.FILE_TYPE_REGULAR, "mode": 0o640, "data": b"0123456789"},
            "/d/l": {"type": pb.FILE_TYPE_SYMLINK, "mode": 0o777, "link": "/etc/shadow"},
            "/d/..": {"type": pb.FILE_TYPE_REGULAR, "mode": 0o644, "data": b"evil"},
        }
        out = os.path.join(tmp, "out")
        r = cli("cp", "box:/d", out)
        tap(r.returncode == 1 and "unexpected name '..'" in r.stderr, "cp refuses a '..' entry from quiltd", r.stderr)
        del svc.files["/d/.."]
        shutil.rmtree(out, ignore_errors=True)
        r = cli("cp", "box:/d", out)
        tap(r.returncode == 0 and open(os.path.join(out, "f"), "rb").read() == b"0123456789",
            "cp out reads a file chunk by chunk", r.stderr)
        tap_is((oct(os.stat(out).st_mode & 0o7777), oct(os.stat(os.path.join(out, "f")).st_mode & 0o7777)),
               (oct(0o750), oct(0o640)), "cp out keeps modes")
        tap_is(os.readlink(os.path.join(out, "l")), "/etc/shadow", "cp out copies a link as a link")
        reads = svc.requests("ReadFile")
        tap_is([x.offset for x in reads], [0, 3, 6, 9], "cp out asks for each chunk at its offset")

        src = os.path.join(tmp, "src")
        os.mkdir(src)
        with open(os.path.join(src, "big"), "wb") as f:
            f.write(b"x" * (CHUNK + 5))
        os.chmod(os.path.join(src, "big"), 0o604)
        os.symlink("big", os.path.join(src, "ln"))
        svc.files = {"/tmp": {"type": pb.FILE_TYPE_DIRECTORY, "mode": 0o1777}}
        r = cli("cp", src, "box:/tmp")
        w = svc.written
        tap(r.returncode == 0 and w["/tmp/src"][0].type == pb.FILE_TYPE_DIRECTORY, "cp in creates the directory", r.stderr)
        big = w.get("/tmp/src/big", [])
        tap_is([(x.offset, len(x.data)) for x in big], [(0, CHUNK), (CHUNK, 5)],
               "cp in writes a file in chunks with offsets (each fits gRPC's default 4 MiB)")
        tap_is((big[0].WhichOneof("mode_present"), big[0].mode, big[1].WhichOneof("mode_present")), ("mode", 0o604, None),
               "cp in sends the mode with the first chunk")
        ln = w.get("/tmp/src/ln", [None])[0]
        tap(ln is not None and ln.type == pb.FILE_TYPE_SYMLINK and ln.link_target == "big", "cp in sends a link as a link")
        r = cli("cp", "a", "b")
        tap(r.returncode == 2 and "exactly one" in r.stderr, "cp needs exactly one CONTAINER:PATH", r.stderr)
        # --- events ------------------------------------------------------------------
        reset()
        t = 1_750_000_000_123_456
        svc.events = [
            pb.ContainerEvent(event_type="died", container_id=ID, container_name="web", cursor=7, time_usec=t,
                              timestamp=t // 1000, attributes={"exit_code": "3", "error": "it broke"}),
            pb.ContainerEvent(event_type="removed", container_id=ID, container_name="web", cursor=8, time_usec=t),
        ]
        r = cli("events", "--since", "5", "-f", "type=died", "--filter", "container=web", "-t", "removed", "-c", "db",
                "--until-now")
        req = svc.requests("StreamEvents")[-1]
        tap_is((req.WhichOneof("since_present"), req.since, list(req.event_types), list(req.container_ids),
                req.until_now), ("since", 5, ["died", "removed"], ["web", "db"], True),
               "events sends since, the filters and until_now")
        lines = r.stdout.splitlines()
        tap(r.returncode == 0 and len(lines) == 2 and lines[0].startswith("7 20")
            and lines[0].endswith(f" died web {ID} error=\"it broke\" exit_code=3")
            and lines[1].startswith("8 ") and lines[1].endswith(f" removed web {ID}"),
            "events prints one line per event: cursor, time, type, name, id, attributes", r)

        r = cli("events", "--no-follow")
        req = svc.requests("StreamEvents")[-1]
        tap_is((req.WhichOneof("since_present"), req.until_now, r.returncode), (None, True, 0),
               "events without --since asks for new events only; --no-follow is --until-now")

        r = cli("events", "--json")
        j = [json.loads(x) for x in r.stdout.splitlines()] if r.returncode == 0 else []
        tap(len(j) == 2 and j[0]["cursor"] in (7, "7") and j[0]["attributes"]["exit_code"] == "3",
            "events --json prints one JSON object per line", r)

        svc.events_error = (grpc.StatusCode.OUT_OF_RANGE, "too far behind")
        r = cli("events", "--since", "1")
        tap_is((r.returncode, len(r.stdout.splitlines()), r.stderr), (1, 2, "quilt: events: too far behind (OUT_OF_RANGE)\n"),
               "events prints what came, then the stream's error, and exits 1")

        n_calls = len(svc.requests("StreamEvents"))
        bad = [cli("events", "-f", "colour=red"), cli("events", "--since", "soon"), cli("events", "-f", "type=")]
        tap_is([x.returncode for x in bad], [2, 2, 2], "events refuses bad filters and cursors as usage errors")
        tap_is(len(svc.requests("StreamEvents")), n_calls, "... without calling quiltd")
        # --- icc ping, icc exec, network topology ------------------------------------
        ida, idb, idc = "a" * 8 + "-0000-4000-8000-" + "a" * 12, "b" * 8 + "-0000-4000-8000-" + "b" * 12, "c" * 32
        svc.containers = [
            pb.ContainerInfo(container_id=ida, name="a", status=pb.RUNNING, ip_address="10.42.0.2"),
            pb.ContainerInfo(container_id=idb, name="b", status=pb.RUNNING, ip_address="10.42.0.3"),
            pb.ContainerInfo(container_id=idc, name="nonet", status=pb.RUNNING),
            pb.ContainerInfo(container_id="d" * 32, name="stopped", status=pb.EXITED),
        ]
        reset()
        svc.exec_reply = pb.ExecContainerResponse(
            success=True, exit_code=0,
            stdout="PING 10.42.0.3 (10.42.0.3): 56 data bytes\n64 bytes from 10.42.0.3: seq=0 ttl=64 time=0.1 ms\n")
        r = cli("icc", "ping", "a", "b")
        tap_is((r.returncode, r.stdout), (0, svc.exec_reply.stdout), "icc ping prints ping's output and exits 0")
        req = svc.requests("ExecContainer")[-1]
        tap_is((req.container_id, list(req.command)), ("a", ["ping", "-c", "3", "-W", "5", "10.42.0.3"]),
               "icc ping runs ping -c 3 -W 5 <address of b> in a, as an argv")
        tap_is([x.container_id for x in svc.requests("GetContainerStatus")], ["a", "b"],
               "icc ping checks FROM and looks TARGET's address up")
        tap_is(req.timeout_seconds, 3 + 5 + 10, "icc ping bounds ping: count + timeout + 10 s")

        reset()
        cli("icc", "ping", "--count", "1", "-W", "2", "a", "10.42.0.9")
        tap_is(list(svc.requests("ExecContainer")[-1].command), ["ping", "-c", "1", "-W", "2", "10.42.0.9"],
               "icc ping -c/-W, and an IPv4 TARGET is pinged as it is")
        tap_is([x.container_id for x in svc.requests("GetContainerStatus")], ["a"],
               "an address TARGET needs no lookup")

        reset()
        svc.exec_reply = pb.ExecContainerResponse(
            success=False, exit_code=1, stdout="--- 10.42.0.3 ping statistics ---\n3 packets transmitted, 0 packets received, 100% packet loss\n")
        r = cli("icc", "ping", "a", "b")
        tap_is(r.returncode, 1, "icc ping exits 1 when ping got no answer")
        tap("100% packet loss" in r.stdout and "quilt: icc ping: b (10.42.0.3) did not answer from a" in r.stderr,
            "a failed ping shows ping's output and says who did not answer", r)

        reset()
        r = cli("icc", "ping", "a", "nosuch")
        tap(r.returncode == 1 and "nosuch" in r.stderr and not svc.requests("ExecContainer"),
            "icc ping to an unknown container fails naming it, without running anything", r)
        r = cli("icc", "ping", "stopped", "b")
        tap(r.returncode == 1 and "container stopped is not running" in r.stderr, "icc ping from a stopped container fails", r)
        r = cli("icc", "ping", "a", "stopped")
        tap(r.returncode == 1 and "container stopped is not running" in r.stderr, "icc ping to a stopped container fails", r)
        r = cli("icc", "ping", "a", "nonet")
        tap(r.returncode == 1 and "container nonet has no IP address" in r.stderr
            and svc.requests("GetContainerNetwork"), "icc ping to a container without an address fails clearly", r)
        r = cli("icc", "ping", "a", "not.an.address")
        tap(r.returncode == 2 and "invalid TARGET 'not.an.address'" in r.stderr, "icc ping: a dotted non-address is a usage error", r)
        r = cli("icc", "ping", "-c", "0", "a", "b")
        tap(r.returncode == 2 and "--count" in r.stderr, "icc ping: --count 0 is a usage error", r)
        reset()
        svc.exec_reply = pb.ExecContainerResponse(success=False, exit_code=127, stderr="sh: ping: not found\n")
        r = cli("icc", "ping", "a", "b")
        tap(r.returncode == 1 and "no usable ping" in r.stderr, "icc ping in an image without ping says so", r)

        reset()
        svc.exec_reply = pb.ExecContainerResponse(success=False, exit_code=137, exit_signal=9, timed_out=True)
        r = cli("icc", "ping", "a", "b")
        tap(r.returncode == 1 and "ping in a did not finish within 18s" in r.stderr, "icc ping says when ping hung", r)

        reset()
        svc.exec_reply = pb.ExecContainerResponse(success=False, exit_code=3, stdout="out\n")
        r = cli("icc", "exec", "a", "--workdir", "/srv", "--env", "K=V", "-e", "L=", "--", "sh", "-c", "echo 'x y'; exit 3")
        req = svc.requests("ExecContainer")[-1]
        tap_is((r.returncode, r.stdout), (3, "out\n"), "icc exec prints the output and exits with the command's status")
        tap_is((req.container_id, list(req.command), req.working_directory, dict(req.environment)),
               ("a", ["sh", "-c", "echo 'x y'; exit 3"], "/srv", {"K": "V", "L": ""}),
               "icc exec sends the argv verbatim, the workdir and the environment")

        # --- exec -------------------------------------------------------------------
        # Over ExecContainerStream when the daemon has it, the unary call otherwise.
        reset()
        K = pb.ExecOutput
        svc.exec_outputs = [K(kind=K.STARTED, pid=7), K(kind=K.STDOUT, data=b"o\x00ut\n"),
                            K(kind=K.STDERR, data=b"err\n"), K(kind=K.STDOUT, data=b"more\n"),
                            K(kind=K.EXIT, pid=7, exit_code=42, error_message="command failed with exit code 42")]
        r = subprocess.run([quilt, "exec", "-u", "1000:1", "-e", "K=V", "-w", "/srv", "--timeout", "1500ms", "box", "--",
                            "sh", "-c", "echo 'x y'"], env=env, capture_output=True, timeout=30, cwd=tmp)
        req = svc.requests("ExecContainerStream")[-1] if svc.requests("ExecContainerStream") else pb.ExecContainerRequest()
        tap_is((r.returncode, r.stdout, r.stderr), (42, b"o\x00ut\nmore\n", b"err\n"),
               "exec writes stdout and stderr byte for byte as they arrive and exits with the status")
        tap_is((req.container_id, list(req.command), req.user, dict(req.environment), req.working_directory,
                req.timeout_ms, req.tty, req.detach, req.capture_output),
               ("box", ["sh", "-c", "echo 'x y'"], "1000:1", {"K": "V"}, "/srv", 1500, False, False, True),
               "exec sends the argv verbatim, user, env, workdir, timeout_ms over ExecContainerStream")
        tap(not svc.requests("ExecContainer"), "... and no unary call")

        svc.exec_outputs = [K(kind=K.STARTED, pid=7), K(kind=K.STDOUT, data=b"so far\n"),
                            K(kind=K.EXIT, pid=7, exit_code=137, exit_signal=9, timed_out=True,
                              error_message="timed out after 1s; the command and everything it started were killed")]
        r = cli("exec", "--timeout", "1", "box", "sleep", "9")
        tap_is((r.returncode, r.stdout), (124, "so far\n"), "a timed-out exec exits 124 with the output so far")
        tap("quilt: exec: timed out after 1s" in r.stderr, "... and says it timed out", r.stderr)
        svc.exec_outputs = [K(kind=K.STARTED, pid=7), K(kind=K.EXIT, pid=7, exit_code=143, exit_signal=15)]
        r = cli("exec", "box", "sleep", "9")
        tap_is(r.returncode, 143, "a command killed by SIGTERM exits 143")
        svc.exec_outputs = [K(kind=K.EXIT, exit_code=127, error_message="nosuch: command not found")]
        r = cli("exec", "box", "nosuch")
        tap((r.returncode, r.stderr) == (127, "quilt: exec: nosuch: command not found\n"),
            "a command that is not found exits 127 and says so", r)
        svc.exec_outputs = [K(kind=K.STARTED, pid=7), K(kind=K.STDOUT, data=b"tty\r\n"), K(kind=K.EXIT, pid=7)]
        r = cli("exec", "-t", "box", "tty")
        tap_is((r.returncode, svc.requests("ExecContainerStream")[-1].tty), (0, True), "exec -t asks for a tty")
        r = cli("exec", "-c", "echo a", "-c", "| tr a b", "box")
        tap_is(list(svc.requests("ExecContainerStream")[-1].command), ["/bin/sh", "-c", "echo a | tr a b"],
               "-c fragments are one sh -c line")

        reset()
        svc.exec_reply = pb.ExecContainerResponse(success=True, pid=31)
        r = cli("exec", "-d", "box", "sleep", "100")
        tap_is((r.returncode, r.stdout, svc.requests("ExecContainer")[-1].detach), (0, "31\n", True),
               "exec -d is a unary call with detach and prints the pid")
        svc.exec_reply = pb.ExecContainerResponse(success=False, exit_code=2, stdout="x")
        r = cli("exec", "--json", "box", "false")
        tap(r.returncode == 2 and json.loads(r.stdout)["exit_code"] == 2 and not svc.requests("ExecContainerStream"),
            "exec --json prints the unary reply and exits with the status", r)
        r = cli("exec", "-d", "-t", "box", "sh")
        tap_is(r.returncode, 2, "-d with -t is a usage error")

        reset()
        svc.exec_outputs = None  # a quiltd without the streaming RPC
        svc.exec_reply = pb.ExecContainerResponse(success=False, exit_code=3, stdout="unary\n")
        r = subprocess.run([quilt, "exec", "-i", "box", "cat"], env=env, capture_output=True, timeout=30, cwd=tmp,
                           input=b"in\n")
        tap_is((r.returncode, r.stdout, svc.requests("ExecContainer")[-1].stdin), (3, b"unary\n", b"in\n"),
               "without ExecContainerStream exec falls back to the unary call, -i sending stdin with it")
        r = cli("shell", "box")
        tap(r.returncode == 1 and "not supported" in r.stderr, "shell without the streaming RPCs says so", r)

        svc.allocations = [
            pb.NetworkAllocation(container_id=ida, ip_address="10.42.0.2", bridge_interface="quilt0", status="active"),
            pb.NetworkAllocation(container_id=idb, ip_address="10.42.0.3", bridge_interface="quilt0", status="active"),
            pb.NetworkAllocation(container_id=idc, ip_address="", bridge_interface="quilt0", status="allocated"),
        ]
        r = cli("network", "topology")
        lines = r.stdout.splitlines()
        tap(r.returncode == 0 and lines[0] == "quilt0" and lines[1].startswith("|-- a ") and "10.42.0.2" in lines[1]
            and ida[:12] in lines[1] and lines[2].startswith("`-- b ") and len(lines) == 3,
            "network topology: a tree of the containers with addresses on each bridge", r.stdout)
        r = cli("network", "topology", "--format", "json")
        j = json.loads(r.stdout) if r.returncode == 0 else {}
        tap_is(j.get("bridges"), [{"name": "quilt0", "containers": [
            {"container_id": ida, "name": "a", "ip_address": "10.42.0.2", "status": "active"},
            {"container_id": idb, "name": "b", "ip_address": "10.42.0.3", "status": "active"}]}],
            "network topology --format json")
        r = cli("network", "topology", "--format", "dot")
        tap(r.returncode == 0 and r.stdout.startswith("graph quilt {") and f'"quilt0" -- "{ida}";' in r.stdout
            and f'"{idb}" [label="b\\n10.42.0.3"];' in r.stdout and r.stdout.rstrip().endswith("}"),
            "network topology --format dot: a Graphviz graph", r.stdout)
        r = cli("network", "topology", "--format", "svg")
        tap(r.returncode == 2 and "invalid --format 'svg'" in r.stderr, "network topology: an unknown format is refused", r)
        # --- network ----------------------------------------------------------------
        reset()
        r = cli("system", "prune", "--network")
        tap(r.returncode == 0 and "ComprehensiveNetworkCleanup" in svc.methods()
            and r.stdout == "Removed bridge quilt0\nRemoved nftables table ip quilt\n",
            "system prune --network calls ComprehensiveNetworkCleanup and says what it removed", r)
        reset()
        r = cli("system", "prune")
        tap(r.returncode == 2 and not svc.calls and "--network" in r.stderr,
            "system prune without --network is a usage error and calls nothing", r)
        r = cli("network", "inspect", "web")
        req = svc.requests("GetContainerNetwork")[-1] if svc.requests("GetContainerNetwork") else None
        tap(r.returncode == 0 and req is not None and req.container_id == "web" and "10.42.0.7" in r.stdout
            and "vq0123456789ab" in r.stdout, "network inspect sends the container and prints its network", r)

        server.stop(None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
