package dev.scalebox.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingsTest {

    @Test
    void defaultsMatchTheDocumentation() {
        Settings s = Settings.defaults();
        assertThat(s.dataDir()).isEqualTo(Path.of("/var/lib/scalebox"));
        assertThat(s.apiPort()).isEqualTo(8080);
        assertThat(s.apiBind()).isEqualTo("127.0.0.1");
        assertThat(s.portMin()).isEqualTo(22001);
        assertThat(s.portMax()).isEqualTo(32000);
        assertThat(s.defaultDiskSizeGib()).isEqualTo(2);
        assertThat(s.maxDiskSizeGib()).isEqualTo(100);
        assertThat(s.storageSize()).isEmpty();
        assertThat(s.apiToken()).isEmpty();
        assertThat(s.maxConcurrentStarts()).as("auto: derived from the host").isEmpty();
        assertThat(Settings.load(Map.of(), Map.of("MAX_CONCURRENT_STARTS", "3"), Optional.empty()).maxConcurrentStarts())
                .hasValue(3);
        assertThat(s.hostName()).isEqualTo(HostName.ofMachine());
        assertThat(s.hostUrl()).isEqualTo("http://127.0.0.1:8080");
        assertThat(Settings.load(Map.of(), Map.of("API_BIND", "0.0.0.0", "HOST_NAME", "alpha"), Optional.empty()).hostUrl())
                .as("a wildcard bind is reached by the host's name").isEqualTo("http://alpha:8080");
        assertThat(s.hostGateway()).isEqualTo("127.0.0.1:2222");
        assertThat(Settings.load(Map.of(), Map.of("GATEWAY_BIND", "0.0.0.0", "HOST_NAME", "alpha"), Optional.empty())
                .hostGateway()).isEqualTo("alpha:2222");
        assertThat(s.hostHeartbeatInterval()).hasSeconds(5);
        assertThat(s.hostDeadAfter()).hasSeconds(30);
    }

    @Test
    void flagBeatsEnvironmentBeatsFileBeatsDefault() throws IOException {
        Path yaml = Files.createTempFile("scalebox", ".yaml");
        Files.writeString(yaml, "api_port: 9000\ndata_dir: /srv/from-file\nport_min: 23000\nstorage_size: 50G\n");

        Settings s = Settings.load(Map.of(Setting.API_PORT, "9100"),
                Map.of("API_PORT", "9200", "DATA_DIR", "/srv/from-env"), Optional.of(yaml));

        assertThat(s.apiPort()).isEqualTo(9100);
        assertThat(s.dataDir()).isEqualTo(Path.of("/srv/from-env"));
        assertThat(s.portMin()).isEqualTo(23000);
        assertThat(s.storageSize()).hasValue(50L << 30);
        assertThat(s.portMax()).isEqualTo(32000);
        Files.delete(yaml);
    }

    @Test
    void badValuesNameTheSettingAndWhereItCameFrom() throws IOException {
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("API_PORT", "eighty"), Optional.empty()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("Invalid setting API_PORT='eighty' (from environment): is not a whole number");
        assertThatThrownBy(() -> Settings.load(Map.of(Setting.PORT_MIN, "30000"), Map.of("PORT_MAX", "25000"), Optional.empty()))
                .hasMessageContaining("PORT_MIN").hasMessageContaining("must not be above PORT_MAX");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("DATA_DIR", "relative/dir"), Optional.empty()))
                .hasMessageContaining("DATA_DIR").hasMessageContaining("absolute");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("DEFAULT_DISK_SIZE_GIB", "200"), Optional.empty()))
                .hasMessageContaining("DEFAULT_DISK_SIZE_GIB").hasMessageContaining("between 1 and 100");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("STORAGE_SIZE", "lots"), Optional.empty()))
                .hasMessageContaining("STORAGE_SIZE");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("API_TOKEN", "short"), Optional.empty()))
                .hasMessageContaining("API_TOKEN");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("MAX_CONCURRENT_STARTS", "0"), Optional.empty()))
                .hasMessage("Invalid setting MAX_CONCURRENT_STARTS='0' (from environment): must be between 1 and 1000");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("MAX_CONCURRENT_STARTS", "many"), Optional.empty()))
                .hasMessageContaining("MAX_CONCURRENT_STARTS").hasMessageContaining("not a whole number");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("HOST_NAME", "Host_1"), Optional.empty()))
                .hasMessageContaining("HOST_NAME").hasMessageContaining("one lower-case DNS label");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("HOST_URL", "http://b.internal:8080/api"), Optional.empty()))
                .hasMessageContaining("HOST_URL").hasMessageContaining("with no path");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("KVM_CPU_MODEL", "host -device evil"), Optional.empty()))
                .hasMessageContaining("KVM_CPU_MODEL").hasMessageContaining("must be a QEMU CPU model name");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("HOST_GATEWAY", "ssh://b.internal:2222"), Optional.empty()))
                .hasMessageContaining("HOST_GATEWAY").hasMessageContaining("must be HOST:PORT");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of("HOST_HEARTBEAT_INTERVAL", "10", "HOST_DEAD_AFTER", "15"),
                Optional.empty())).hasMessage("Invalid setting HOST_DEAD_AFTER='15' (from environment): must be between 20 and 3600");

        Path yaml = Files.createTempFile("scalebox", ".yaml");
        Files.writeString(yaml, "api_prot: 9000\n");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of(), Optional.of(yaml)))
                .hasMessageContaining("unknown setting 'api_prot'");
        Files.writeString(yaml, "api_port: [1, 2]\n");
        assertThatThrownBy(() -> Settings.load(Map.of(), Map.of(), Optional.of(yaml)))
                .hasMessageContaining("api_port must be a single value");
        Files.delete(yaml);
    }

    @Test
    void sizesParseInBinaryUnits() {
        assertThat(ByteSize.parse("100G")).isEqualTo(100L << 30);
        assertThat(ByteSize.parse("512M")).isEqualTo(512L << 20);
        assertThat(ByteSize.parse("2T")).isEqualTo(2L << 40);
        assertThat(ByteSize.parse("4096")).isEqualTo(4096);
        assertThat(ByteSize.parse("1gib")).isEqualTo(1L << 30);
        assertThatThrownBy(() -> ByteSize.parse("-1G")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ByteSize.parse("1.5G")).isInstanceOf(IllegalArgumentException.class);
    }
}
