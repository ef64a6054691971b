package dev.scalebox.template;

import dev.scalebox.ScaleboxException;
import dev.scalebox.testing.BaseTemplate;
import dev.scalebox.testing.Sh;
import dev.scalebox.testing.TestImages;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The real base template, built with mmdebstrap: what the VM issue boots. */
class BaseTemplateTest {

    private static BaseTemplate base;
    private static Path image;

    @BeforeAll
    static void build() {
        base = BaseTemplate.get();
        image = base.layout.templateImage(TemplateService.BASE);
        System.err.printf("debian-base built in %.1f s%n", base.buildSeconds);
    }

    @Test
    void isACleanTwoGibExt4ImageRecordedAsProtected() {
        Sh.run("e2fsck", "-fn", image.toString());
        assertThat(image).hasSize(2L << 30);
        assertThat(TestImages.superblockField(image, "Filesystem volume name")).isEqualTo("rootfs");
        assertThat(base.template.isProtected()).isTrue();
        assertThat(base.template.origin()).isEqualTo("built");
        assertThat(base.templates.find(TemplateService.BASE)).hasValueSatisfying(t -> assertThat(t.sizeBytes()).isEqualTo(2L << 30));
        assertThatThrownBy(() -> base.templates.remove(TemplateService.BASE)).isInstanceOf(ScaleboxException.Forbidden.class);
        assertThatThrownBy(() -> base.templates.build(TemplateService.BASE, BuildOptions.defaults(), BuildProgress.SILENT))
                .isInstanceOf(ScaleboxException.Conflict.class);
    }

    @Test
    void theKernelIsCopiedOutAndTheBuildDirectoryIsGone() throws Exception {
        assertThat(base.layout.kernel().resolve("vmlinuz")).isRegularFile();
        byte[] kernel = Files.readAllBytes(base.layout.kernel().resolve("vmlinuz"));
        assertThat(new String(kernel, 0x202, 4, java.nio.charset.StandardCharsets.US_ASCII))
                .as("bzImage header magic").isEqualTo("HdrS");
        try (var leftovers = Files.list(base.layout.run())) {
            assertThat(leftovers).isEmpty();
        }
    }

    @Test
    void rootLogsInByKeyOnlyAndNoSecretIsBakedIn() {
        assertThat(Sh.run("debugfs", "-R", "ls -l /root", image.toString())).doesNotContain("authorized_keys");
        String root = TestImages.stat(image, "/root");
        assertThat(root).contains("Mode:  0700");
        String shadowRoot = TestImages.cat(image, "/etc/shadow").lines().filter(l -> l.startsWith("root:")).findFirst().orElseThrow();
        assertThat(shadowRoot.split(":")[1]).as("root password field").matches("[*!].*");
        String sshd = sshdConfig();
        assertThat(sshd).containsPattern("(?im)^\\s*PermitRootLogin\\s+prohibit-password")
                .containsPattern("(?im)^\\s*PasswordAuthentication\\s+no")
                .containsPattern("(?im)^\\s*KbdInteractiveAuthentication\\s+no");
        assertThat(Sh.run("debugfs", "-R", "ls /etc/ssh", image.toString())).doesNotContain("ssh_host_");
        assertThat(TestImages.cat(image, "/etc/machine-id")).isEmpty();
    }

    @Test
    void isDebianTwelveWithSystemdAndOpenSsh() {
        assertThat(TestImages.cat(image, "/etc/debian_version")).startsWith("12.");
        assertThat(TestImages.stat(image, "/usr/sbin/sshd")).contains("Type: regular");
        assertThat(TestImages.stat(image, "/lib/systemd/systemd")).contains("Type: regular");
    }

    private static String sshdConfig() {
        StringBuilder all = new StringBuilder();
        String dir = Sh.run("debugfs", "-R", "ls /etc/ssh/sshd_config.d", image.toString());
        for (String name : dir.split("\\s+")) {
            if (name.endsWith(".conf")) {
                all.append(TestImages.cat(image, "/etc/ssh/sshd_config.d/" + name)).append('\n');
            }
        }
        return all.toString();
    }
}
