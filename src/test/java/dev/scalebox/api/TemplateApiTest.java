package dev.scalebox.api;

import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import dev.scalebox.storage.DataLayout;
import dev.scalebox.storage.StorageService;
import dev.scalebox.store.Database;
import dev.scalebox.template.TemplateService;
import dev.scalebox.testing.LoopFs;
import dev.scalebox.testing.TestImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The template endpoints over real HTTP, with a real store and real images. */
class TemplateApiTest {

    private static final String TOKEN = "test-token-0123456789";
    private static Path dataDir;
    private static Path scratch;
    private static TemplateService templates;
    private static ApiServer server;
    private static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() {
        dataDir = LoopFs.tempDir();
        scratch = LoopFs.tempDir();
        DataLayout layout = new DataLayout(dataDir);
        layout.createDirectories();
        ProgramRunner runner = new ProgramRunner();
        Filesystems filesystems = new Filesystems(runner);
        StorageService storage = new StorageService(layout, runner, filesystems);
        templates = new TemplateService(storage, Database.openSqlite(layout.database()).templates(), runner, filesystems);
        templates.importImage(TestImages.ext4(scratch.resolve("base.ext4"), 1, 0), "debian-base");
        server = ApiServer.start("127.0.0.1", 0, ApiToken.resolve(Optional.of(TOKEN), layout.apiToken()),
                new ApiServer.Services(templates, null, storage, "tcg", null, null));
    }

    @AfterAll
    static void stop() {
        server.close();
        LoopFs.deleteTree(dataDir);
        LoopFs.deleteTree(scratch);
    }

    @Test
    void healthAndTheOpenApiDocumentAreOpenEverythingElseNeedsTheToken() throws Exception {
        assertThat(send("GET", "/health", null).statusCode()).isEqualTo(200);
        HttpResponse<String> doc = send("GET", "/openapi.yaml", null);
        assertThat(doc.statusCode()).isEqualTo(200);
        assertThat(doc.body()).contains("openapi: 3.1.0").contains("/templates/{name}");

        assertThat(send("GET", "/templates", null).statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = send("GET", "/templates", "Bearer wrong-token-0123456789");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(json(wrong).get("error").asString()).contains("API token");
        assertThat(send("GET", "/templates", "Basic " + TOKEN).statusCode()).isEqualTo(401);
    }

    @Test
    void listsTemplatesInSnakeCase() throws Exception {
        HttpResponse<String> r = authorized("GET", "/templates");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode base = json(r).get(0);
        assertThat(base.get("name").asString()).isEqualTo("debian-base");
        assertThat(base.get("size_bytes").asLong()).isEqualTo(1L << 30);
        assertThat(base.get("protected").asBoolean()).isTrue();
        assertThat(base.get("created_at").asString()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(base.get("snapshots").isArray()).isTrue();
    }

    @Test
    void removeAnswersEachCaseWithItsStatus() throws Exception {
        templates.importImage(TestImages.ext4(scratch.resolve("extra.ext4"), 1, 0), "extra");

        assertThat(authorized("DELETE", "/templates/debian-base").statusCode()).isEqualTo(403);
        assertThat(authorized("DELETE", "/templates/Bad..Name").statusCode()).isEqualTo(400);
        assertThat(authorized("DELETE", "/templates/missing").statusCode()).isEqualTo(404);
        assertThat(json(authorized("DELETE", "/templates/missing")).get("error").asString()).isEqualTo("Template not found");
        assertThat(authorized("DELETE", "/templates/extra").statusCode()).isEqualTo(204);

        assertThat(dataDir.resolve("templates/extra.ext4")).doesNotExist();
        assertThat(dataDir.resolve("templates/debian-base.ext4")).exists();
        assertThat(json(authorized("GET", "/templates")).findValuesAsString("name")).containsExactly("debian-base");
    }

    @Test
    void unknownRoutesAre404InJson() throws Exception {
        HttpResponse<String> r = authorized("GET", "/nothing/here");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(json(r).get("error").asString()).contains("No such endpoint");
    }

    @Test
    void reconcileRegistersOrphanImagesAndDropsRecordsWithoutImages() throws IOException {
        Files.copy(TestImages.ext4(scratch.resolve("orphan.ext4"), 1, 0), dataDir.resolve("templates/orphan.ext4"));
        templates.importImage(TestImages.ext4(scratch.resolve("gone.ext4"), 1, 0), "gone");
        Files.delete(dataDir.resolve("templates/gone.ext4"));
        Files.writeString(dataDir.resolve("templates/.half.ext4.partial"), "interrupted");

        templates.reconcile();

        assertThat(templates.find("orphan")).isPresent();
        assertThat(templates.find("gone")).isEmpty();
        assertThat(dataDir.resolve("templates/.half.ext4.partial")).doesNotExist();
        templates.remove("orphan");
    }

    @Test
    void theWebConsoleSignsInOnceWithTheTokenAndIsThenKnownByAnHttpOnlyStrictCookieUntilItSignsOut() throws Exception {
        HttpResponse<String> wrong = request("POST", "/session", "{\"token\": \"wrong-token-0123456789\"}", Map.of());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(json(wrong).get("error").asString()).isEqualTo("Wrong API token; nothing was signed in");
        assertThat(wrong.headers().firstValue("set-cookie")).isEmpty();
        assertThat(request("POST", "/session", "{\"token\": 5}", Map.of()).statusCode()).isEqualTo(400);

        String cookie = signIn();
        assertThat(request("GET", "/templates", null, Map.of("Cookie", cookie)).statusCode()).isEqualTo(200);
        HttpResponse<String> session = request("GET", "/session", null, Map.of("Cookie", cookie));
        assertThat(session.statusCode()).isEqualTo(200);
        assertThat(java.time.Instant.parse(json(session).get("expires_at").asString()))
                .isAfter(java.time.Instant.now().plus(java.time.Duration.ofHours(11)));
        assertThat(request("GET", "/session", null, Map.of("Cookie", "scalebox_session=made-up")).statusCode()).isEqualTo(401);

        HttpResponse<String> out = request("DELETE", "/session", null, Map.of("Cookie", cookie));
        assertThat(out.statusCode()).isEqualTo(204);
        assertThat(out.headers().firstValue("set-cookie")).hasValueSatisfying(c -> assertThat(c).contains("Max-Age=0"));
        assertThat(request("GET", "/templates", null, Map.of("Cookie", cookie)).statusCode()).isEqualTo(401);
    }

    @Test
    void aBrowserRequestThatChangesStateFromAnotherOriginIsRefusedAndChangesNothing() throws Exception {
        String cookie = signIn();
        String self = "http://127.0.0.1:" + server.port();
        HttpResponse<String> foreign = request("DELETE", "/templates/debian-base", null,
                Map.of("Cookie", cookie, "Origin", "http://evil.example"));
        assertThat(foreign.statusCode()).isEqualTo(403);
        assertThat(json(foreign).get("error").asString()).startsWith("Cross-origin request refused");
        assertThat(authorized("GET", "/templates").body()).contains("debian-base");
        assertThat(request("POST", "/session", "{\"token\": \"" + TOKEN + "\"}", Map.of("Origin", "null")).statusCode())
                .as("a sign-in from elsewhere").isEqualTo(403);
        assertThat(request("DELETE", "/templates/nothing-here", null, Map.of("Cookie", cookie, "Origin", self)).statusCode())
                .as("the page's own origin passes to the route").isEqualTo(404);
        assertThat(request("GET", "/templates", null, Map.of("Cookie", cookie, "Origin", "http://evil.example")).statusCode())
                .as("a read changes nothing; SameSite keeps the cookie from other sites").isEqualTo(200);
    }

    @Test
    void everyResponseAllowsOnlyThePagesOwnScriptsAndThePageIsOpenWhileItsDataIsNot() throws Exception {
        HttpResponse<String> health = send("GET", "/health", null);
        assertThat(health.headers().firstValue("content-security-policy")).hasValue(WebPage.CONTENT_SECURITY_POLICY);
        assertThat(WebPage.CONTENT_SECURITY_POLICY).contains("script-src 'self';").doesNotContain("unsafe-eval");
        assertThat(health.headers().firstValue("x-content-type-options")).hasValue("nosniff");
        assertThat(send("GET", "/assets/..%2Fopenapi.yaml", null).statusCode()).isEqualTo(404);
        org.junit.jupiter.api.Assumptions.assumeTrue(WebPage.class.getResource("/web/index.html") != null,
                "the web console is built (not with -Dweb.skip=true)");
        HttpResponse<String> page = send("GET", "/", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(page.body()).doesNotContain("<script>").doesNotContain("onclick=");
        java.util.regex.Matcher script = java.util.regex.Pattern.compile("src=\"(/assets/[^\"]+\\.js)\"").matcher(page.body());
        assertThat(script.find()).as(page.body()).isTrue();
        HttpResponse<String> js = send("GET", script.group(1), null);
        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("content-type")).hasValue("text/javascript");
    }

    /** Signs in with the token; the session cookie as a {@code Cookie} header's value. */
    private static String signIn() throws Exception {
        HttpResponse<String> in = request("POST", "/session", "{\"token\": \"" + TOKEN + "\"}", Map.of());
        assertThat(in.statusCode()).as(in.body()).isEqualTo(204);
        String setCookie = in.headers().firstValue("set-cookie").orElseThrow();
        assertThat(setCookie).contains("HttpOnly").contains("SameSite=Strict").contains("Path=/").contains("Max-Age=43200");
        return setCookie.substring(0, setCookie.indexOf(';'));
    }

    private static HttpResponse<String> request(String method, String path, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> authorized(String method, String path) throws Exception {
        return send(method, path, "Bearer " + TOKEN);
    }

    private static HttpResponse<String> send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) {
        return Json.MAPPER.readTree(r.body());
    }
}
