package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.TemplateCopies;
import dev.scalebox.storage.TemplateTransfer;
import dev.scalebox.template.TemplateService;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;

import java.io.IOException;
import java.io.OutputStream;

/**
 * {@code GET /cluster/templates/{name}/image}: this host's copy of a template, for another host of
 * the store that places a VM and lacks it (see {@link TemplateCopies}). Only a host with the
 * cluster secret is sent one; the format is the best both can take ({@link TemplateTransfer}).
 */
final class TemplateImageRoute {

    private TemplateImageRoute() {
    }

    static void register(HttpRouting.Builder routing, TemplateService templates, Access access) {
        routing.get(TemplateCopies.PATH + "{name}/image", (req, res) -> {
            if (!access.passedOn(req.headers())) {
                throw new ScaleboxException.Forbidden("Template images are sent only to the hosts of the store,"
                        + " which call with the cluster secret");
            }
            String name = req.path().pathParameters().get("name");
            if (!templates.exists(name)) {
                throw new ScaleboxException.NotFound("This host holds no copy of template '" + name + "'");
            }
            TemplateTransfer.Format format = templates.transfers().offers(TemplateTransfer.Format.of(
                    req.headers().first(HeaderNames.ACCEPT).orElse(null)));
            res.header(HeaderNames.CONTENT_TYPE, format.mediaType());
            try (OutputStream out = res.outputStream()) {
                templates.transfers().send(name, format, out);
            } catch (IOException | RuntimeException e) {
                // The receiver sees the stream break off and keeps nothing of it.
                org.slf4j.LoggerFactory.getLogger(TemplateImageRoute.class).warn("Sending template {} broke off: {}",
                        name, e.getMessage());
            }
        });
    }
}
