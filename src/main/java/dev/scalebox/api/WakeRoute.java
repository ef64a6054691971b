package dev.scalebox.api;

import dev.scalebox.network.HttpsConfig;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;

/**
 * {@code /wake}: where Caddy sends a request to a VM's HTTPS address that the VM did not answer.
 * A suspended VM is resumed, and the request is answered 503 with {@code Retry-After} until the
 * VM runs and answers itself (a page in a browser reloads on its own). It is open, like the
 * address itself: it wakes only what a request to that address would.
 */
final class WakeRoute {

    static final String PATH = "/wake";
    private static final int RETRY_AFTER_SECONDS = 1;

    private WakeRoute() {
    }

    static void register(HttpRouting.Builder routing, VmService vms, HttpsConfig https) {
        routing.any(PATH, (req, res) -> {
            String host = req.headers().first(HeaderNames.HOST).orElse("");
            Optional<Vm> vm = https.vmNameOf(host).flatMap(vms::wake);
            if (vm.isEmpty()) {
                page(res, 404, "No VM is published at this address.", false);
                return;
            }
            Vm v = vm.get();
            switch (v.status()) {
                case STARTING, SUSPENDED -> page(res, 503, "VM " + v.name() + " is waking up; this page reloads when it runs.", true);
                case RUNNING -> page(res, 502, "VM " + v.name() + " runs, but nothing in it answers on port " + v.httpPort() + ".", false);
                case STOPPED -> page(res, 503, "VM " + v.name() + " is stopped: 'scalebox vm start " + v.name() + "' starts it.", false);
                default -> page(res, 503, "VM " + v.name() + " is " + v.status().label() + ".", false);
            }
        });
    }

    private static void page(ServerResponse res, int status, String message, boolean retry) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        String refresh = "";
        if (retry) {
            res.header(HeaderNames.RETRY_AFTER, Integer.toString(RETRY_AFTER_SECONDS));
            refresh = "<meta http-equiv=\"refresh\" content=\"" + RETRY_AFTER_SECONDS + "\">";
        }
        res.send("<!doctype html><html><head><title>" + status + "</title>" + refresh + "</head><body><p>"
                + message.replace("&", "&amp;").replace("<", "&lt;") + "</p></body></html>\n");
    }
}
