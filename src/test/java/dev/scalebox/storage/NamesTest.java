package dev.scalebox.storage;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NamesTest {

    @Test
    void acceptsTheDocumentedAlphabet() {
        assertThat(Names.isValid("debian-base")).isTrue();
        assertThat(Names.isValid("vm-0123456789ab")).isTrue();
        assertThat(Names.isValid("a")).isTrue();
        assertThat(Names.isValid("0.9_x-y")).isTrue();
        assertThat(Names.isValid("a".repeat(63))).isTrue();
    }

    @Test
    void refusesAnythingThatCouldLeaveItsDirectory() {
        for (String bad : new String[] {null, "", ".", "..", ".hidden", "a..b", "a/b", "../x", "A", "a b", "-a", "_a",
                "a".repeat(64), "é", "a\u0000", "a\n"}) {
            assertThat(Names.isValid(bad)).as(String.valueOf(bad)).isFalse();
        }
    }

    @Test
    void layoutPathsStayInTheirDirectory() {
        DataLayout layout = new DataLayout(Path.of("/srv/data"));
        assertThat(layout.vmImage("vm-1")).isEqualTo(Path.of("/srv/data/vms/vm-1.ext4"));
        assertThat(layout.disk("vm-1", true)).isEqualTo(Path.of("/srv/data/volumes/vm-1.ext4"));
        assertThat(layout.templateImage("debian-base")).isEqualTo(Path.of("/srv/data/templates/debian-base.ext4"));
        assertThatThrownBy(() -> layout.vmImage("../../etc/shadow")).hasMessageContaining("Invalid VM id");
        assertThatThrownBy(() -> layout.runDir("..")).hasMessageContaining("Invalid VM id");
    }
}
