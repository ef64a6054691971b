package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.network.Egress;
import dev.scalebox.vm.CreateVm;
import dev.scalebox.vm.Resize;
import dev.scalebox.vm.Snapshot;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStats;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

import java.time.Instant;
import java.util.Map;
import java.util.ArrayList;
import java.util.List;

import java.util.stream.Collectors;

/** The {@code /vms} endpoints. */
final class VmRoutes {

    private static final int CONSOLE_BYTES = 64 * 1024;

    private VmRoutes() {
    }

    /** The JSON body of {@code POST /vms}. */
    record CreateBody(String template, String sshPublicKey, String name, Integer vcpuCount, Integer memSizeMib,
                      Integer diskSizeGib, JsonNode egress, Integer httpPort, String host) {
    }

    /** The optional JSON body of {@code POST /vms/{id}/restart}. */
    record RestartBody(Integer vcpuCount, Integer memSizeMib, Integer diskSizeGib, JsonNode egress) {
    }

    /** The JSON body of {@code PUT /vms/{id}/egress}. */
    record EgressBody(JsonNode egress) {
    }

    /** The JSON body of {@code POST /vms/{id}/snapshot}. */
    record SnapshotBody(String templateName) {
    }

    /** A VM as the API shows it. */
    record VmView(String id, String name, String template, String status, String statusReason, int vcpuCount,
                  int memSizeMib, int diskSizeGib, String sshHost, int sshPort, String sshUser, String ssh,
                  Instant createdAt, String ip, String mac, Object egress, int httpPort, String url, String startedFrom,
                  String sshHostKey, String host) {
        static VmView of(Vm vm) {
            return new VmView(vm.id(), vm.name(), vm.template(), vm.status().label(), vm.statusReason(), vm.vcpuCount(),
                    vm.memSizeMib(), vm.diskSizeGib(), vm.sshHost(), vm.sshPort(), vm.sshUser(), vm.ssh(), vm.createdAt(),
                    vm.ip(), vm.mac(), vm.egress().json(), vm.httpPort(), vm.url(), vm.startedFrom(), vm.sshHostKey(),
                    vm.host());
        }
    }

    static void register(HttpRouting.Builder routing, VmService vms, Metrics metrics, VmPlacement placement) {
        routing.post("/vms", (req, res) -> {
            long start = System.nanoTime();
            byte[] raw = raw(req);
            CreateBody b = body(raw, CreateBody.class);
            if (placement.passedOn(req, b, raw, res)) {
                return;
            }
            Vm vm = vms.create(new CreateVm(b.template(), b.sshPublicKey(), b.name(), b.vcpuCount(), b.memSizeMib(),
                    b.diskSizeGib(), egress(b.egress()), b.httpPort()));
            res.header(HeaderNames.LOCATION, "/vms/" + vm.id());
            ApiServer.json(res, 201, VmView.of(vm));
            metrics.recordCreate(System.nanoTime() - start);
        });
        routing.get("/vms", (req, res) -> ApiServer.json(res, 200, vms.listAll().stream().map(VmView::of).toList()));
        routing.get("/vms/{id}", (req, res) -> ApiServer.json(res, 200, VmView.of(vms.get(id(req)))));
        routing.get("/vms/{id}/stats", (req, res) -> ApiServer.json(res, 200, Map.of(
                "interval_seconds", VmStats.INTERVAL.toSeconds(), "samples", vms.stats(id(req)))));
        routing.delete("/vms/{id}", (req, res) -> {
            vms.delete(id(req));
            res.status(Status.NO_CONTENT_204).send();
        });
        routing.post("/vms/{id}/stop", (req, res) -> ApiServer.json(res, 200, VmView.of(vms.stop(id(req)))));
        routing.post("/vms/{id}/start", (req, res) -> ApiServer.json(res, 200, VmView.of(vms.start(id(req)))));
        routing.post("/vms/{id}/suspend", (req, res) -> ApiServer.json(res, 200, VmView.of(vms.suspend(id(req)))));
        routing.post("/vms/{id}/restart", (req, res) -> {
            RestartBody b = req.content().hasEntity() ? body(req, RestartBody.class) : new RestartBody(null, null, null, null);
            Vm vm = vms.restart(id(req), new Resize(b.vcpuCount(), b.memSizeMib(), b.diskSizeGib()), egress(b.egress()));
            ApiServer.json(res, 200, VmView.of(vm));
        });
        routing.put("/vms/{id}/egress", (req, res) -> {
            EgressBody b = body(req, EgressBody.class);
            if (b.egress() == null || b.egress().isNull()) {
                throw new ScaleboxException.BadRequest("egress is required");
            }
            ApiServer.json(res, 200, VmView.of(vms.setEgress(id(req), egress(b.egress()))));
        });
        routing.post("/vms/{id}/snapshot", (req, res) -> {
            SnapshotBody b = body(req, SnapshotBody.class);
            Snapshot snapshot = vms.snapshot(id(req), b.templateName());
            res.header(HeaderNames.LOCATION, "/templates/" + snapshot.template());
            ApiServer.json(res, 201, snapshot);
        });
        routing.get("/vms/{id}/console", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            res.send(vms.console(id(req), CONSOLE_BYTES));
        });
    }

    /** {@code "internet"}, {@code "all"}, {@code "none"} or a list of strings; null when absent. */
    static Egress egress(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isString()) {
            return Egress.named(node.asString());
        }
        if (node.isArray()) {
            List<String> entries = new ArrayList<>();
            for (JsonNode entry : node) {
                if (!entry.isString()) {
                    throw new ScaleboxException.BadRequest("egress entries must be strings (\"CIDR\" or \"CIDR:port\"), not "
                            + entry);
                }
                entries.add(entry.asString());
            }
            return Egress.allow(entries);
        }
        throw new ScaleboxException.BadRequest("egress must be \"internet\", \"all\", \"none\" or a list of \"CIDR\""
                + " or \"CIDR:port\"");
    }

    private static String id(ServerRequest req) {
        return req.path().pathParameters().get("id");
    }

    private static String expected(Class<?> type) {
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return ": a whole number is expected";
        }
        if (type == String.class) {
            return ": a string is expected";
        }
        if (type == Boolean.class || type == boolean.class) {
            return ": true or false is expected";
        }
        return "";
    }

    /** Reads a JSON body strictly: malformed JSON, unknown fields and wrong types are a 400 that names the field. */
    static <T> T body(ServerRequest req, Class<T> type) {
        return body(raw(req), type);
    }

    /** The body, at most {@link ApiServer#MAX_BODY_BYTES} (one sent without a length is cut off there: 413). */
    static byte[] raw(ServerRequest req) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try (java.io.InputStream in = req.content().inputStream()) {
            byte[] body = in.readNBytes((int) ApiServer.MAX_BODY_BYTES + 1);
            if (body.length > ApiServer.MAX_BODY_BYTES) {
                throw new ScaleboxException.PayloadTooLarge("The request body is over " + ApiServer.MAX_BODY_BYTES / 1024
                        + " KiB");
            }
            return body;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static <T> T body(byte[] raw, Class<T> type) {
        if (raw.length == 0) {
            throw new ScaleboxException.BadRequest("A JSON body is required");
        }
        try {
            JsonNode tree = Json.MAPPER.readTree(raw);
            if (tree == null || !tree.isObject()) {
                throw new ScaleboxException.BadRequest("The body must be a JSON object");
            }
            return Json.MAPPER.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            throw new ScaleboxException.BadRequest("Unknown field '" + e.getPropertyName() + "'");
        } catch (MismatchedInputException e) {
            String field = e.getPath().stream().map(r -> r.getPropertyName() == null ? "" : r.getPropertyName())
                    .collect(Collectors.joining("."));
            throw new ScaleboxException.BadRequest(field.isEmpty() ? "The body must be a JSON object"
                    : "Wrong type for field '" + field + "'" + expected(e.getTargetType()));
        } catch (JacksonException e) {
            throw new ScaleboxException.BadRequest("Malformed JSON: " + e.getOriginalMessage());
        }
    }

}
