package dev.scalebox.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** VM names to HTTPS addresses and back, and the Caddy configuration they make: pure logic. */
class HttpsConfigTest {

    private static final HttpsConfig HTTPS = new HttpsConfig("vms.example.com", "0.0.0.0", 443, null,
            Path.of("/srv/scalebox/caddy"), "127.0.0.1:8080");

    @Test
    void onlyNamesThatAreOneDnsLabelHaveAnAddress() {
        assertThat(HTTPS.urlOf("web-1")).hasValue("https://web-1.vms.example.com/");
        assertThat(new HttpsConfig("t.test", "127.0.0.1", 8443, null, Path.of("/x"), "127.0.0.1:1").urlOf("a"))
                .hasValue("https://a.t.test:8443/");
        assertThat(HTTPS.urlOf("my.vm")).isEmpty();
        assertThat(HTTPS.urlOf("my_vm")).isEmpty();
        assertThat(HTTPS.urlOf("-web")).isEmpty();
    }

    @Test
    void aHostHeaderNamesAVmOnlyUnderTheDomain() {
        assertThat(HTTPS.vmNameOf("Web-1.VMS.example.com:443")).hasValue("web-1");
        assertThat(HTTPS.vmNameOf("web-1.vms.example.com")).hasValue("web-1");
        assertThat(HTTPS.vmNameOf("a.b.vms.example.com")).isEmpty();
        assertThat(HTTPS.vmNameOf("vms.example.com")).isEmpty();
        assertThat(HTTPS.vmNameOf("web-1.vms.example.com.evil.net")).isEmpty();
        assertThat(HTTPS.vmNameOf("")).isEmpty();
    }

    @Test
    @SuppressWarnings("unchecked")
    void theConfigurationRoutesPublishableVmsAndAnswers404ForTheRest() {
        Guest web = new Guest("vm-000000000001", "10.77.0.2", 22001, Egress.INTERNET, "web", 8000);
        Guest dotted = new Guest("vm-000000000002", "10.77.0.3", 22002, Egress.INTERNET, "not.a.label", 80);
        Map<String, Object> config = CaddyConfig.full(HTTPS, Path.of("/run/admin.sock"), List.of(web, dotted));

        Map<String, Object> server = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>)
                ((Map<String, Object>) config.get("apps")).get("http")).get("servers")).get(CaddyConfig.SERVER);
        assertThat(server.get("listen")).isEqualTo(List.of(":443"));
        List<Map<String, Object>> routes = (List<Map<String, Object>>) server.get("routes");
        assertThat(routes).extracting(r -> r.get("@id")).containsExactly("vm-route-vm-000000000001", "unknown-name");
        assertThat(routes.getFirst().toString()).contains("web.vms.example.com").contains("10.77.0.2:8000");
        assertThat(routes.getLast().toString()).contains("status_code=404");
        assertThat(config.get("admin").toString()).contains("unix//run/admin.sock");
        assertThat(((Map<String, Object>) config.get("apps")).get("tls").toString()).contains("*.vms.example.com")
                .contains("internal");
    }

    @Test
    @SuppressWarnings("unchecked")
    void withAnAcmeEmailEachNameGetsItsCertificateFromAcme() {
        HttpsConfig acme = new HttpsConfig("vms.example.com", "::", 443, "ops@example.com", Path.of("/c"), "[::1]:8080");
        Map<String, Object> config = CaddyConfig.full(acme, Path.of("/run/admin.sock"), List.of());
        String tls = ((Map<String, Object>) config.get("apps")).get("tls").toString();
        assertThat(tls).contains("acme").contains("ops@example.com").doesNotContain("*.vms.example.com");
    }
}
