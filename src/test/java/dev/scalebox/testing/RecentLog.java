package dev.scalebox.testing;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.stream.Collectors;

/** The last lines the services in the test JVM logged, for a wait that runs out to show (see logback-test.xml). */
public final class RecentLog extends AppenderBase<ILoggingEvent> {

    private static final int KEEP = 400;
    private static final Deque<String> LINES = new ArrayDeque<>();
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    @Override
    protected void append(ILoggingEvent event) {
        String line = TIME.format(Instant.ofEpochMilli(event.getTimeStamp())) + " " + event.getLevel() + " "
                + event.getLoggerName().substring(event.getLoggerName().lastIndexOf('.') + 1) + " - "
                + event.getFormattedMessage();
        synchronized (LINES) {
            LINES.addLast(line);
            while (LINES.size() > KEEP) {
                LINES.removeFirst();
            }
        }
    }

    /** The last {@code count} lines that mention {@code about} (all lines when null). */
    public static String tail(int count, String about) {
        synchronized (LINES) {
            var matching = LINES.stream().filter(l -> about == null || l.contains(about)).toList();
            return matching.subList(Math.max(0, matching.size() - count), matching.size()).stream()
                    .collect(Collectors.joining("\n"));
        }
    }
}
