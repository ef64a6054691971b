package dev.scalebox.vm;

import java.util.List;
import java.util.Random;
import java.util.Set;

/** Readable VM names ("calm-otter-42") for VMs created without one; unique among the given names. */
final class NameGenerator {

    private static final List<String> ADJECTIVES = List.of("amber", "brisk", "calm", "clever", "eager", "fuzzy",
            "gentle", "jolly", "keen", "lucky", "mellow", "nimble", "plucky", "quiet", "rapid", "sunny", "tidy", "witty");
    private static final List<String> NOUNS = List.of("badger", "crane", "dolphin", "falcon", "gecko", "heron",
            "ibis", "koala", "lynx", "marmot", "newt", "otter", "panda", "quokka", "raven", "seal", "tapir", "walrus");

    private NameGenerator() {
    }

    static String unique(Set<String> taken, Random random) {
        while (true) {
            String name = ADJECTIVES.get(random.nextInt(ADJECTIVES.size())) + "-"
                    + NOUNS.get(random.nextInt(NOUNS.size())) + "-" + random.nextInt(100);
            if (!taken.contains(name)) {
                return name;
            }
        }
    }
}
