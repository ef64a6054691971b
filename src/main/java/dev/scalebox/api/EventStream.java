package dev.scalebox.api;

import dev.scalebox.gateway.Boxes;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /events}: Server-Sent Events of every VM change ({@code vm}, the JSON of {@code GET
 * /vms/{id}}), VM deletion ({@code vm_deleted}) and box connect or suspend ({@code box}). Each
 * viewer has a bounded queue: one that does not keep up is cut off (it reconnects and reads the
 * state anew) rather than holding anything back.
 */
final class EventStream implements VmService.Events, Boxes.Events {

    static final int QUEUE = 1024;
    private static final Duration KEEPALIVE = Duration.ofSeconds(15);
    private static final String CUT_OFF = "event: cut_off\ndata: {\"reason\":\"this viewer fell " + QUEUE
            + " events behind; read the state anew and subscribe again\"}\n\n";

    private final Set<BlockingQueue<String>> viewers = ConcurrentHashMap.newKeySet();

    @Override
    public void changed(Vm vm) {
        publish("vm", VmRoutes.VmView.of(vm));
    }

    @Override
    public void deleted(String vmId) {
        publish("vm_deleted", Map.of("id", vmId));
    }

    @Override
    public void box(String userId, String what) {
        publish("box", Map.of("box", userId, "event", what));
    }

    private void publish(String type, Object data) {
        String frame = "event: " + type + "\ndata: " + Json.MAPPER.writeValueAsString(data) + "\n\n";
        for (BlockingQueue<String> viewer : viewers) {
            if (!viewer.offer(frame)) {
                viewers.remove(viewer);
                viewer.clear();
                viewer.offer(CUT_OFF);
            }
        }
    }

    /** Streams to one viewer until it goes away or is cut off. Says {@code : ready} once it is subscribed. */
    void serve(ServerRequest req, ServerResponse res) {
        BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE);
        viewers.add(queue);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        try (OutputStream out = res.outputStream()) {
            write(out, ": ready\n\n");
            while (true) {
                String frame = queue.poll(KEEPALIVE.toMillis(), TimeUnit.MILLISECONDS);
                write(out, frame == null ? ": keepalive\n\n" : frame);
                if (CUT_OFF.equals(frame)) {
                    return;
                }
            }
        } catch (IOException | UncheckedIOException gone) {
            // the viewer went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            viewers.remove(queue);
        }
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
