package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.storage.TemplateTransfer;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Brings a template that another host holds to this one, as part of placing a VM here: from an
 * {@code up} or {@code draining} host that holds it, as a {@code btrfs send} stream when both
 * pools are btrfs, else as the image's bytes (see {@link TemplateTransfer}). One copy per template
 * at a time: a second create that needs it waits for the first copy instead of starting another.
 */
public final class TemplateCopies {

    /** The path a host serves its templates' images on, to other hosts only. */
    public static final String PATH = "/cluster/templates/";

    private static final Logger log = LoggerFactory.getLogger(TemplateCopies.class);

    private final Database db;
    private final TemplateService templates;
    private final TemplateTransfer transfers;
    private final Forwarder forwarder;
    private final Map<String, Object> copying = new ConcurrentHashMap<>();

    TemplateCopies(Database db, TemplateService templates, TemplateTransfer transfers, Forwarder forwarder) {
        this.db = db;
        this.templates = templates;
        this.transfers = transfers;
        this.forwarder = forwarder;
    }

    /**
     * Makes sure this host holds template {@code name}, copying it from a host that does. Does
     * nothing when this host holds it, or when no host that could send it is up (the create then
     * answers that there is no such template).
     */
    public void ensureHere(String name) {
        synchronized (copying.computeIfAbsent(name, n -> new Object())) {
            if (templates.exists(name)) {
                return;
            }
            List<String> senders = db.hosts().list().stream()
                    .filter(h -> !h.state().equals("down") && !h.name().equals(db.host()))
                    .map(h -> h.name()).filter(db.templates().holders(name)::contains).toList();
            if (senders.isEmpty()) {
                return;
            }
            copyFrom(senders.getFirst(), name);
        }
    }

    private void copyFrom(String host, String name) {
        long started = System.nanoTime();
        HttpResponse<InputStream> answer = forwarder.fetch(host, PATH + name + "/image", transfers.accepts().mediaType());
        try (InputStream body = answer.body()) {
            if (answer.statusCode() != 200) {
                throw new ScaleboxException.Unavailable("host " + host + " did not send template '" + name + "': "
                        + answer.statusCode() + " " + new String(body.readNBytes(2000), StandardCharsets.UTF_8));
            }
            TemplateTransfer.Format format = TemplateTransfer.Format.of(answer.headers().firstValue("Content-Type")
                    .orElse(null));
            templates.receive(name, format, body);
            log.info("Template '{}' copied from host {} as {} in {} ms", name, host, format.mediaType(),
                    (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            throw new ScaleboxException.Unavailable("the copy of template '" + name + "' from host " + host
                    + " broke off: " + e.getMessage());
        }
    }
}
