package dev.scalebox.vm;

import dev.scalebox.hypervisor.Hypervisor;
import dev.scalebox.storage.DataLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What no VM record owns, found at start-up. A QEMU process is ours when its {@code -name} is
 * {@code scalebox-vm-…} or {@code scalebox-instance-…} and its arguments name this data
 * directory: such an orphan is killed, unless it is a warm instance a VM was resumed in (its run
 * directory names it). A run directory named like a VM or a warm instance holds only files
 * Scalebox writes there: removed. A disk is never removed here, only reported, since it may hold
 * someone's work.
 */
final class Orphans {

    private static final Pattern VM_ID = Pattern.compile("vm-[0-9a-f]{12}");
    private static final Pattern INSTANCE = Pattern.compile("instance-[0-9a-f]{12}");
    private static final Logger log = LoggerFactory.getLogger(Orphans.class);

    private Orphans() {
    }

    /** Cleans what is provably ours and returns a line for each thing found. */
    static List<String> sweep(DataLayout layout, Set<String> knownIds) {
        List<String> found = new ArrayList<>();
        String root = layout.root().toString() + "/";
        Set<String> owned = knownIds.stream().map(id -> Hypervisor.processNameIn(layout.runDir(id))
                .orElse(Hypervisor.processName(id))).collect(Collectors.toSet());
        ProcessHandle.allProcesses().forEach(p -> {
            List<String> args = p.info().arguments().map(List::of).orElse(List.of());
            int name = args.indexOf("-name");
            if (name < 0 || name + 1 >= args.size() || !args.get(name + 1).startsWith("scalebox-")) {
                return;
            }
            String processName = args.get(name + 1);
            String id = processName.substring("scalebox-".length());
            if ((VM_ID.matcher(id).matches() || INSTANCE.matcher(id).matches()) && !owned.contains(processName)
                    && args.stream().anyMatch(a -> a.contains(root)) && Hypervisor.isOurs(p.pid(), processName)) {
                p.destroyForcibly();
                found.add("killed QEMU " + p.pid() + " of " + id + ", which has no record");
            }
        });
        for (Path dir : list(layout.run())) {
            String id = dir.getFileName().toString();
            if (INSTANCE.matcher(id).matches() || (VM_ID.matcher(id).matches() && !knownIds.contains(id))) {
                deleteRunDir(dir);
                found.add("removed run directory " + dir + ", which has no record");
            }
        }
        for (Path disk : Stream.concat(list(layout.vms()).stream(), list(layout.volumes()).stream()).toList()) {
            String id = disk.getFileName().toString().replaceFirst("\\.(ext4|state)$", "");
            if (VM_ID.matcher(id).matches() && !knownIds.contains(id)) {
                found.add((disk.toString().endsWith(".state") ? "saved memory " : "disk ") + disk
                        + " has no record; kept (remove it by hand if nobody needs it)");
            }
        }
        found.forEach(line -> log.warn("Orphan: {}", line));
        return found;
    }

    /** Removes what an interrupted save or copy of a VM's memory left in its run directory; a whole state is kept. */
    static void deletePartialState(Path runDir) {
        for (String leftover : List.of(".memory.state.partial", ".memory.ram.partial", "migrate.sock")) {
            try {
                if (Files.deleteIfExists(runDir.resolve(leftover))) {
                    log.warn("Removed {} left by an interrupted operation", runDir.resolve(leftover));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static void deleteRunDir(Path dir) {
        for (Path f : list(dir)) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
