package dev.scalebox.cli;

import dev.scalebox.api.Json;
import tools.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@code scalebox vm ...}: the VM API from the command line. */
@Command(name = "vm", mixinStandardHelpOptions = true, description = "Create and manage VMs (through the API).")
final class VmCommand {

    @Mixin
    CommonOptions common;

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a VM from a template.")
    int create(@Option(names = "--template", defaultValue = "debian-base", description = "Template (default ${DEFAULT-VALUE})") String template,
               @Option(names = "--key", required = true, paramLabel = "FILE", description = "SSH public key file") Path key,
               @Option(names = "--name", description = "VM name (generated when absent)") String name,
               @Option(names = "--disk", paramLabel = "GIB", description = "Disk size in GiB") Integer disk,
               @Option(names = "--mem", paramLabel = "MIB", description = "Memory in MiB") Integer mem,
               @Option(names = "--cpus", paramLabel = "N", description = "vCPUs") Integer cpus,
               @Option(names = "--http-port", paramLabel = "PORT",
                       description = "The port of the VM's web server its HTTPS address leads to (default 80)") Integer httpPort,
               @Option(names = "--wait", description = "Return when SSH answers") boolean wait,
               @Option(names = "--timeout", defaultValue = "0", paramLabel = "SECONDS",
                       description = "Give up waiting after this long (default 0: wait while the VM is starting)") int timeout,
               @Option(names = "--json", description = "Print JSON") boolean json) throws IOException, InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("template", template);
        body.put("ssh_public_key", Files.readString(key).strip());
        putIfSet(body, "name", name);
        putIfSet(body, "disk_size_gib", disk);
        putIfSet(body, "mem_size_mib", mem);
        putIfSet(body, "vcpu_count", cpus);
        putIfSet(body, "http_port", httpPort);
        JsonNode vm = api().post("/vms", body);
        if (wait) {
            vm = awaitRunning(vm.get("id").asString(), timeout);
        }
        print(vm, json);
        return 0;
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List VMs.")
    int ls(@Option(names = "--json") boolean json) {
        Table.listing(api().get("/vms"), json, List.of("ID", "NAME", "STATUS", "HOST", "TEMPLATE", "CPUS", "MEM_MIB",
                "DISK_GIB", "SSH"), v -> List.of(v.get("id").asString(), v.get("name").asString(), v.get("status").asString(),
                v.hasNonNull("host") ? v.get("host").asString() : "", v.get("template").asString(), v.get("vcpu_count").asString(),
                v.get("mem_size_mib").asString(), v.get("disk_size_gib").asString(), v.get("ssh").asString()));
        return 0;
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one VM.")
    int show(@Parameters(paramLabel = "VM") String vm, @Option(names = "--json") boolean json) {
        print(api().get(path(vm)), json);
        return 0;
    }

    @Command(name = "url", mixinStandardHelpOptions = true, description = "Print the VM's HTTPS address.")
    int url(@Parameters(paramLabel = "VM") String vm) {
        JsonNode v = api().get(path(vm));
        if (v.path("url").isNull() || v.path("url").isMissingNode()) {
            throw new CliException("VM " + vm + " has no HTTPS address: set HTTP_DOMAIN (with NETWORK=bridge), and give"
                    + " the VM a name that is one DNS label (a-z, 0-9, -)");
        }
        System.out.println(v.get("url").asString());
        return 0;
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Delete a VM and its disk.")
    int rm(@Parameters(paramLabel = "VM") String vm) {
        api().delete(path(vm));
        System.out.println("Deleted " + vm);
        return 0;
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a stopped VM, or resume a suspended one.")
    int start(@Parameters(paramLabel = "VM") String vm, @Option(names = "--json") boolean json) {
        print(api().post(path(vm) + "/start", null), json);
        return 0;
    }

    @Command(name = "suspend", mixinStandardHelpOptions = true,
            description = "Save a running VM's memory and end its QEMU; start resumes it.")
    int suspend(@Parameters(paramLabel = "VM") String vm, @Option(names = "--json") boolean json) {
        print(api().post(path(vm) + "/suspend", null), json);
        return 0;
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Power a VM off (ACPI, then kill after 30 s).")
    int stop(@Parameters(paramLabel = "VM") String vm, @Option(names = "--json") boolean json) {
        print(api().post(path(vm) + "/stop", null), json);
        return 0;
    }

    @Command(name = "restart", mixinStandardHelpOptions = true,
            description = "Stop and start a VM, optionally with a larger disk, other memory or vCPUs.")
    int restart(@Parameters(paramLabel = "VM") String vm,
                @Option(names = "--disk", paramLabel = "GIB", description = "New disk size in GiB (grow only)") Integer disk,
                @Option(names = "--mem", paramLabel = "MIB", description = "New memory in MiB") Integer mem,
                @Option(names = "--cpus", paramLabel = "N", description = "New vCPU count") Integer cpus,
                @Option(names = "--json") boolean json) {
        Map<String, Object> body = new LinkedHashMap<>();
        putIfSet(body, "disk_size_gib", disk);
        putIfSet(body, "mem_size_mib", mem);
        putIfSet(body, "vcpu_count", cpus);
        print(api().post(path(vm) + "/restart", body.isEmpty() ? null : body), json);
        return 0;
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Make a template from a VM's disk (a running VM is paused for the clone only).")
    int snapshot(@Parameters(index = "0", paramLabel = "VM") String vm,
                 @Parameters(index = "1", paramLabel = "TEMPLATE") String template,
                 @Option(names = "--json") boolean json) {
        JsonNode snapshot = api().post(path(vm) + "/snapshot", Map.of("template_name", template));
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(snapshot));
        } else {
            System.out.println("Template " + snapshot.get("template").asString() + " made from "
                    + snapshot.get("source_vm").asString());
        }
        return 0;
    }

    @Command(name = "console", mixinStandardHelpOptions = true,
            description = "Print the tail of the serial console, or with --attach type into it (Ctrl-] leaves).")
    int console(@Parameters(paramLabel = "VM") String vm,
                @Option(names = "--attach", description = "Join the live console in this terminal") boolean attach)
            throws java.io.IOException {
        if (attach) {
            return ConsoleAttach.run(api(), path(vm) + "/console", System.in, System.out);
        }
        System.out.print(api().getText(path(vm) + "/console"));
        return 0;
    }

    @Command(name = "wait", mixinStandardHelpOptions = true, description = "Wait until the VM's SSH answers.")
    int await(@Parameters(paramLabel = "VM") String vm,
              @Option(names = "--ssh", description = "Wait for SSH (the default and only condition)") boolean ssh,
              @Option(names = "--timeout", defaultValue = "0", paramLabel = "SECONDS",
                      description = "Give up waiting after this long (default 0: wait while the VM is starting)") int timeout,
              @Option(names = "--json") boolean json) throws InterruptedException {
        JsonNode v = awaitRunning(vm, timeout);
        checkHostKey(v);
        print(v, json);
        return 0;
    }

    /**
     * Checks that the key the VM's SSH server offers is the one Scalebox made for it, and records
     * it in Scalebox's known-hosts file; a VM of an older Scalebox, with no known key, is not checked.
     */
    private static void checkHostKey(JsonNode v) throws InterruptedException {
        if (v.path("ssh_host_key").isNull() || v.path("ssh_host_key").isMissingNode()) {
            return;
        }
        String known = v.get("ssh_host_key").asString();
        KnownHosts.ofUser().put(v.get("id").asString(), known);
        try {
            Process scan = new ProcessBuilder("ssh-keyscan", "-T", "20", "-t", "ed25519", "-p", v.get("ssh_port").asString(),
                    v.get("ssh_host").asString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String offered = new String(scan.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            scan.waitFor();
            boolean matches = offered.lines().map(l -> l.substring(l.indexOf(' ') + 1).strip()).anyMatch(known::equals);
            if (!matches) {
                throw new CliException("VM " + v.get("id").asString() + " answers SSH with a host key that is not the one"
                        + " Scalebox made for it (" + known + "); not trusting it");
            }
        } catch (IOException e) {
            throw new CliException("cannot check the SSH host key of VM " + v.get("id").asString() + " (ssh-keyscan): "
                    + e.getMessage());
        }
    }

    @Command(name = "ssh", mixinStandardHelpOptions = true, description = "Log into a VM with the OpenSSH client.")
    int ssh(@Parameters(paramLabel = "VM") String vm,
            @Option(names = {"-i", "--identity"}, paramLabel = "FILE", description = "Private key") Path identity,
            @Parameters(index = "1..*", paramLabel = "COMMAND") List<String> command) throws IOException, InterruptedException {
        JsonNode v = api().get(path(vm));
        KnownHosts known = KnownHosts.ofUser();
        List<String> argv = new ArrayList<>(List.of("ssh", "-p", v.get("ssh_port").asString()));
        if (v.path("ssh_host_key").isString()) {
            known.put(v.get("id").asString(), v.get("ssh_host_key").asString());
            argv.addAll(known.sshOptions(v.get("id").asString()));
        } else {  // a VM of an older Scalebox: its key is learnt on first use, under its id
            argv.addAll(List.of("-o", "HostKeyAlias=" + v.get("id").asString(), "-o", "UserKnownHostsFile=" + known.file(),
                    "-o", "StrictHostKeyChecking=accept-new"));
        }
        if (identity != null) {
            argv.addAll(List.of("-i", identity.toString()));
        }
        argv.add(v.get("ssh_user").asString() + "@" + v.get("ssh_host").asString());
        if (command != null) {
            argv.addAll(command);
        }
        return new ProcessBuilder(argv).inheritIO().start().waitFor();
    }

    /**
     * Waits while the VM is starting, however long its turn in the host's line takes (the service
     * gives up on a guest that makes no progress), or at most {@code timeoutSeconds} when above 0:
     * follows the server's events, subscribed before the state is read so that no change is
     * missed. Its place in line goes to stderr each time it changes.
     */
    private JsonNode awaitRunning(String vm, int timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        ApiClient api = api();
        String told = null;
        while (true) {
            try (EventSubscription events = api.events()) {
                JsonNode v = api.get(path(vm));
                String id = v.get("id").asString();
                while (true) {
                    String status = v.get("status").asString();
                    String reason = v.path("status_reason").isNull() ? null : v.get("status_reason").asString();
                    if (status.equals("running")) {
                        return v;
                    }
                    if (!status.equals("starting") && !status.equals("creating")) {
                        throw new CliException("VM " + vm + " is " + status + (reason == null ? "" : ": " + reason));
                    }
                    if (reason != null && reason.startsWith("queued") && !reason.equals(told)) {
                        System.err.println("VM " + vm + " is waiting for a free slot (" + reason + ")");
                        told = reason;
                    }
                    long left = timeoutSeconds > 0 ? (deadline - System.nanoTime()) / 1_000_000 : 60_000;
                    if (left <= 0) {
                        throw new CliException("VM " + vm + " did not answer SSH within " + timeoutSeconds + " s (it is "
                                + status + (reason == null ? "" : ", " + reason) + ")");
                    }
                    Optional<EventSubscription.Event> event = events.next(left);
                    if (event.isPresent() && event.get().isEnd()) {
                        break;  // cut off, or the server restarted: subscribe again and read the state anew
                    }
                    if (event.isPresent() && id.equals(event.get().data().path("id").asString())) {
                        if (event.get().type().equals("vm_deleted")) {
                            throw new CliException("VM " + vm + " was deleted while it started");
                        }
                        v = event.get().data();
                    }
                }
            }
            Thread.sleep(500);
        }
    }

    private static void print(JsonNode vm, boolean json) {
        if (json) {
            System.out.println(Json.MAPPER.writeValueAsString(vm));
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        for (String field : List.of("id", "name", "status", "status_reason", "template", "vcpu_count", "mem_size_mib",
                "disk_size_gib", "ssh", "created_at")) {
            JsonNode value = vm.path(field);
            if (!value.isMissingNode() && !value.isNull()) {
                rows.add(List.of(field, value.asString()));
            }
        }
        Table.keyValue(rows);
    }

    private static void putIfSet(Map<String, Object> body, String field, Object value) {
        if (value != null) {
            body.put(field, value);
        }
    }

    private static String path(String vm) {
        return "/vms/" + URLEncoder.encode(vm, StandardCharsets.UTF_8);
    }

    private ApiClient api() {
        return ApiClient.from(common.settings());
    }
}
