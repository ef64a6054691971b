package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
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
        return db.update("save user " + r.name(), "INSERT INTO users (id, name, public_key, created_at) VALUES (?, ?, ?, ?)",
                r.id(), r.name(), r.publicKey(), r.createdAt().toString()) >= 0;
    }

    public Optional<Row> find(String idOrName) {
        return db.query("read users", "SELECT * FROM users WHERE id = ? OR name = ?", UserStore::row, idOrName, idOrName)
                .stream().findFirst();
    }

    public List<Row> list() {
        return db.query("read users", "SELECT * FROM users ORDER BY created_at, id", UserStore::row);
    }

    public void delete(String id) {
        db.update("delete user " + id, "DELETE FROM users WHERE id = ?", id);
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("id"), rs.getString("name"), rs.getString("public_key"),
                Instant.parse(rs.getString("created_at")));
    }
}
