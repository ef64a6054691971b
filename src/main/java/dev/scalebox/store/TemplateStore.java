package dev.scalebox.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
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
        try (Connection c = db.connection();
             PreparedStatement st = c.prepareStatement("INSERT INTO templates (name, size_bytes, created_at, protected,"
                     + " origin) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET size_bytes = excluded.size_bytes,"
                     + " created_at = excluded.created_at, protected = excluded.protected, origin = excluded.origin")) {
            st.setString(1, row.name());
            st.setLong(2, row.sizeBytes());
            st.setString(3, row.createdAt().toString());
            st.setBoolean(4, row.isProtected());
            st.setString(5, row.origin());
            st.executeUpdate();
        } catch (SQLException e) {
            throw new StoreException("save template " + row.name(), e);
        }
    }

    public Optional<Row> find(String name) {
        return query("SELECT * FROM templates WHERE name = ?", name).stream().findFirst();
    }

    public List<Row> list() {
        return query("SELECT * FROM templates ORDER BY name", null);
    }

    public boolean delete(String name) {
        try (Connection c = db.connection();
             PreparedStatement st = c.prepareStatement("DELETE FROM templates WHERE name = ?")) {
            st.setString(1, name);
            return st.executeUpdate() > 0;
        } catch (SQLException e) {
            throw new StoreException("delete template " + name, e);
        }
    }

    private List<Row> query(String sql, String name) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            if (name != null) {
                st.setString(1, name);
            }
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString("name"), rs.getLong("size_bytes"),
                            Instant.parse(rs.getString("created_at")), rs.getBoolean("protected"), rs.getString("origin")));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new StoreException("read templates", e);
        }
    }
}
