package dev.scalebox.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Gateway users: one row per registered key; the id is derived from the key. */
public final class UserStore {

    public record Row(String id, String name, String publicKey, Instant createdAt) {
    }

    private final Database db;

    UserStore(Database db) {
        this.db = db;
    }

    /** Inserts a user; false when the id (the key) or the name is taken. */
    public boolean insert(Row r) {
        try (Connection c = db.connection();
             PreparedStatement st = c.prepareStatement(
                     "INSERT INTO users (id, name, public_key, created_at) VALUES (?, ?, ?, ?)")) {
            st.setString(1, r.id());
            st.setString(2, r.name());
            st.setString(3, r.publicKey());
            st.setString(4, r.createdAt().toString());
            st.executeUpdate();
            return true;
        } catch (SQLException e) {
            if (e.getMessage() != null && e.getMessage().contains("UNIQUE")) {
                return false;
            }
            throw new StoreException("save user " + r.name(), e);
        }
    }

    public Optional<Row> find(String idOrName) {
        return query("SELECT * FROM users WHERE id = ? OR name = ?", idOrName).stream().findFirst();
    }

    public List<Row> list() {
        return query("SELECT * FROM users ORDER BY created_at, id", null);
    }

    public void delete(String id) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement("DELETE FROM users WHERE id = ?")) {
            st.setString(1, id);
            st.executeUpdate();
        } catch (SQLException e) {
            throw new StoreException("delete user " + id, e);
        }
    }

    private List<Row> query(String sql, String key) {
        try (Connection c = db.connection(); PreparedStatement st = c.prepareStatement(sql)) {
            if (key != null) {
                st.setString(1, key);
                st.setString(2, key);
            }
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString("id"), rs.getString("name"), rs.getString("public_key"),
                            Instant.parse(rs.getString("created_at"))));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new StoreException("read users", e);
        }
    }
}
