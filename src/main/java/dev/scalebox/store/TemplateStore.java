package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Template records: one row per image in {@code templates/}. */
public final class TemplateStore {

    /** A stored template: where it came from ({@code built}, {@code imported}, {@code snapshot}). */
    public record Row(String name, long sizeBytes, Instant createdAt, boolean isProtected, String origin) {
    }

    private final Database db;

    TemplateStore(Database db) {
        this.db = db;
    }

    /** Inserts or replaces the record of {@code row.name()}. */
    public void put(Row row) {
        db.update("save template " + row.name(), "INSERT INTO templates (name, size_bytes, created_at, protected, origin)"
                        + " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET size_bytes = excluded.size_bytes,"
                        + " created_at = excluded.created_at, protected = excluded.protected, origin = excluded.origin",
                row.name(), row.sizeBytes(), row.createdAt().toString(), row.isProtected(), row.origin());
    }

    public Optional<Row> find(String name) {
        return db.query("read templates", "SELECT * FROM templates WHERE name = ?", TemplateStore::row, name).stream()
                .findFirst();
    }

    public List<Row> list() {
        return db.query("read templates", "SELECT * FROM templates ORDER BY name", TemplateStore::row);
    }

    public boolean delete(String name) {
        return db.update("delete template " + name, "DELETE FROM templates WHERE name = ?", name) > 0;
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("name"), rs.getLong("size_bytes"), Instant.parse(rs.getString("created_at")),
                rs.getBoolean("protected"), rs.getString("origin"));
    }
}
