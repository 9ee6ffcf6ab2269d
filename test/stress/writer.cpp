// Writers: each thread owns the items it creates (so it always knows their
// exact current version) but shares every zone with the other writers (so
// allocation is contended). It mixes single upserts, deletes, if_match pushes
// expected to succeed or to conflict, batches with deletes, op_id replays,
// op_id reuse and cross-user probes, and checks each answer on the spot.
#include "writer.h"

#include <unistd.h>

#include <chrono>
#include <thread>

namespace ck {
namespace {

std::atomic<uint64_t> g_seq{0};

struct Owned {
    Uuid item{};
    int64_t g = 0;
    bool deleted = false;
};

struct Op {
    Kind kind = Kind::Single;
    int zi = 0;
    std::vector<RecIn> recs;
    std::vector<uint64_t> seqs;  // blob seq per record, 0 for a delete
    std::vector<int> owned_idx;  // index into the owner's list, -1 for a new item
    std::optional<Uuid> op_id;
    bool expect_conflict = false;
    std::vector<Conflict> expected_conflicts;
    int64_t floor = 0;  // the zone's highest acknowledged gencount when the op was first sent
    std::vector<Row> rows;  // the result, once acknowledged
};

std::string conflicts_str(const std::vector<Conflict> &cs)
{
    std::string s = "[";
    for (const auto &c : cs)
        s += "{" + c.item + " g=" + std::to_string(c.gencount) + (c.deleted ? " deleted" : "") + "}";
    return s + "]";
}

class Writer {
public:
    explicit Writer(int id) : id_(id), rng_(cfg.seed * 1000003 + static_cast<uint64_t>(id)), be_(make_backend()),
                              owned_(nzones()) {}

    void run()
    {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(cfg.seconds);
        while (!stop_writers.load()) {
            bool enough = static_cast<long>(stats.records_acked.load()) >= cfg.writes &&
                          (cfg.stop_file.empty() || access(cfg.stop_file.c_str(), F_OK) == 0);
            if (enough || std::chrono::steady_clock::now() >= deadline) {
                stop_writers = true;
                break;
            }
            step();
        }
    }

private:
    uint64_t pick(uint64_t n) { return rng_() % n; }

    std::string blob_for(int zi, const std::optional<Uuid> &item, uint64_t &seq)
    {
        seq = ++g_seq;
        return make_blob(zuser(zi), zname(zi), item ? uuid_str(*item) : "-", seq, rng_, cfg.max_pad);
    }

    std::optional<Uuid> maybe_op_id()
    {
        if (cfg.tolerate || pick(10) < 7) return random_uuid(rng_);
        return std::nullopt;
    }

    // An owned item of zone zi (index), or -1.
    int pick_owned(int zi, bool live_only = false)
    {
        auto &v = owned_[zi];
        if (v.empty()) return -1;
        for (int tries = 0; tries < 4; tries++) {
            int i = static_cast<int>(pick(v.size()));
            if (!live_only || !v[i].deleted) return i;
        }
        return -1;
    }

    bool want_new(int zi) { return owned_[zi].size() < 24 ? pick(10) < 4 : pick(20) == 0; }

    // One record: an update of an owned item or a new item; maybe a delete.
    void add_record(Op &op, bool allow_delete, bool with_if_match, std::set<int> &used)
    {
        int idx = want_new(op.zi) ? -1 : pick_owned(op.zi);
        if (idx >= 0 && used.count(idx)) idx = -1;
        RecIn r;
        bool del = allow_delete && pick(4) == 0;
        if (idx >= 0) {
            used.insert(idx);
            const Owned &o = owned_[op.zi][idx];
            r.item = o.item;
            if (with_if_match) r.if_match = o.g;
        } else if (pick(2) == 0 && !del) {
            // a server-chosen item id
        } else {
            r.item = random_uuid(rng_);  // a client-chosen new id (or a delete of an absent item)
            if (with_if_match) r.if_match = 0;
        }
        uint64_t seq = 0;
        if (!del) r.blob = blob_for(op.zi, r.item, seq);
        op.recs.push_back(r);
        op.seqs.push_back(seq);
        op.owned_idx.push_back(idx);
    }

    void step()
    {
        Op op;
        op.zi = static_cast<int>(pick(nzones()));
        op.op_id = maybe_op_id();
        uint64_t r = pick(100);
        std::set<int> used;
        if (r < 34) {  // single upsert, sometimes with the exact if_match
            op.kind = Kind::Single;
            add_record(op, false, pick(3) == 0, used);
        } else if (r < 46) {  // delete (of an owned item, or of an absent one)
            op.kind = Kind::Delete;
            int idx = pick_owned(op.zi);
            RecIn rec;
            if (idx >= 0) {
                rec.item = owned_[op.zi][idx].item;
                if (pick(3) == 0) rec.if_match = owned_[op.zi][idx].g;
            } else {
                rec.item = random_uuid(rng_);
            }
            op.recs.push_back(rec);
            op.seqs.push_back(0);
            op.owned_idx.push_back(idx);
        } else if (r < 66) {  // batch of 2..8 with deletes, sometimes if_match on every record
            op.kind = Kind::Many;
            bool im = pick(3) == 0;
            int k = 2 + static_cast<int>(pick(7));
            for (int i = 0; i < k; i++) add_record(op, true, im, used);
        } else if (r < 80) {  // an if_match that must fail
            if (!build_conflict(op)) return;
        } else if (r < 88) {
            replay_last();
            return;
        } else if (r < 91) {
            reuse_op_id();
            return;
        } else {
            op.kind = Kind::Single;
            add_record(op, false, false, used);
        }
        execute(op);
    }

    // Builds a push whose if_match is wrong; the expected CS409 detail is exact
    // because only this thread writes its items.
    bool build_conflict(Op &op)
    {
        uint64_t v = pick(5);
        uint64_t seq = 0;
        op.expect_conflict = true;
        if (v == 0 && cfg.users > 1) {  // cross-user probe: another user's item id and gencount
            int idx = pick_owned(op.zi);
            if (idx < 0) return false;
            const Owned &o = owned_[op.zi][idx];
            int other_user = static_cast<int>((op.zi / cfg.zones + 1 + pick(cfg.users - 1)) % cfg.users);
            int zi_b = other_user * cfg.zones + op.zi % cfg.zones;
            op.kind = Kind::Single;
            RecIn rec;
            rec.item = o.item;
            rec.if_match = o.g;
            op.zi = zi_b;
            rec.blob = blob_for(zi_b, rec.item, seq);
            op.recs.push_back(rec);
            op.seqs.push_back(seq);
            op.owned_idx.push_back(-2);  // not ours in this zone
            op.expected_conflicts.push_back({uuid_str(o.item), 0, false});
            stats.isolation_probes++;
            return true;
        }
        if (v == 1) {  // a new client-chosen item with if_match > 0
            op.kind = Kind::Single;
            RecIn rec;
            rec.item = random_uuid(rng_);
            rec.if_match = 1 + static_cast<int64_t>(pick(1000));
            rec.blob = blob_for(op.zi, rec.item, seq);
            op.recs.push_back(rec);
            op.seqs.push_back(seq);
            op.owned_idx.push_back(-1);
            op.expected_conflicts.push_back({uuid_str(*rec.item), 0, false});
            return true;
        }
        int idx = pick_owned(op.zi);
        if (idx < 0) return false;
        const Owned o = owned_[op.zi][idx];
        int64_t wrong;
        if (!o.deleted && pick(3) == 0) wrong = 0;  // "must not exist" on a live item
        else if (o.g > 1 && pick(2) == 0) wrong = 1 + static_cast<int64_t>(pick(o.g - 1));  // stale
        else wrong = o.g + 1 + static_cast<int64_t>(pick(50));  // from the future
        op.expected_conflicts.push_back({uuid_str(o.item), o.g, o.deleted});
        if (v == 2) {
            op.kind = Kind::Delete;
            RecIn rec;
            rec.item = o.item;
            rec.if_match = wrong;
            op.recs.push_back(rec);
            op.seqs.push_back(0);
            op.owned_idx.push_back(idx);
        } else if (v == 3) {
            op.kind = Kind::Single;
            RecIn rec;
            rec.item = o.item;
            rec.if_match = wrong;
            rec.blob = blob_for(op.zi, rec.item, seq);
            op.recs.push_back(rec);
            op.seqs.push_back(seq);
            op.owned_idx.push_back(idx);
        } else {  // a batch where every if_match is right but one
            op.kind = Kind::Many;
            std::set<int> used{idx};
            int k = 1 + static_cast<int>(pick(5));
            for (int i = 0; i < k; i++) add_record(op, true, true, used);
            RecIn rec;
            rec.item = o.item;
            rec.if_match = wrong;
            if (pick(2)) rec.blob = blob_for(op.zi, rec.item, seq);
            else seq = 0;
            size_t at = pick(op.recs.size() + 1);
            op.recs.insert(op.recs.begin() + static_cast<long>(at), rec);
            op.seqs.insert(op.seqs.begin() + static_cast<long>(at), seq);
            op.owned_idx.insert(op.owned_idx.begin() + static_cast<long>(at), idx);
        }
        return true;
    }

    // Sends op, reconnecting and re-sending the same op_id after a connection
    // error (fault mode). Returns the settled answer.
    WriteResult send(const Op &op, bool count_retry = true)
    {
        for (;;) {
            WriteResult w = be_->write(op.kind, zuser(op.zi), zname(op.zi), op.recs, op.op_id);
            if (w.outcome != Outcome::ConnError) return w;
            stats.conn_errors++;
            if (!cfg.tolerate) {
                violation("connection-lost", zlabel(op.zi) + ": " + w.code + " " + w.message);
                stop_writers = true;
                return w;
            }
            if (!op.op_id) {  // cannot happen: fault mode gives every write an op_id
                violation("indeterminate", "write without op_id lost its connection");
                return w;
            }
            if (!reconnect_with_backoff(*be_, "writer")) {
                stop_writers = true;
                return w;
            }
            if (count_retry) stats.retries++;
        }
    }

    void set_inflight(const Op &op, int delta)
    {
        ZoneModel &z = model[op.zi];
        std::lock_guard<std::mutex> lk(z.mu);
        if (delta > 0) op_floor_ = z.max_acked;
        for (const auto &r : op.recs) {
            if (!r.item) continue;
            if ((z.inflight[*r.item] += delta) == 0) z.inflight.erase(*r.item);
        }
    }

    void execute(Op &op)
    {
        set_inflight(op, +1);
        op.floor = op_floor_;
        WriteResult w = send(op);
        std::string what = zlabel(op.zi) + " " + (op.kind == Kind::Many ? "sync_push_many" : op.kind == Kind::Delete ? "sync_delete" : "sync_push") +
                           " of " + std::to_string(op.recs.size()) + (op.op_id ? " op " + uuid_str(*op.op_id) : "");
        if (w.outcome == Outcome::ConnError) {
            set_inflight(op, -1);
            return;
        }
        if (op.expect_conflict) {
            if (w.outcome == Outcome::Conflict) {
                stats.conflicts++;
                check_conflicts(op, w, what);
            } else if (w.outcome == Outcome::Ok) {
                violation("if_match-ignored", what + ": expected CS409, the push was applied");
                accept(op, w, what);  // keep the model true to the server
            } else {
                violation("unexpected-error", what + ": expected CS409, got " + w.code + " " + w.message);
            }
        } else if (w.outcome == Outcome::Ok) {
            accept(op, w, what);
        } else if (w.outcome == Outcome::Conflict) {
            violation("unexpected-conflict", what + ": " + w.message + " " + conflicts_str(w.conflicts));
        } else {
            violation("unexpected-error", what + ": " + w.code + " " + w.message);
        }
        set_inflight(op, -1);
    }

    void check_conflicts(const Op &op, const WriteResult &w, const std::string &what)
    {
        std::vector<Conflict> expected = op.expected_conflicts;
        if (cfg.injected("conflict") && !injected_conflict_) {
            injected_conflict_ = true;
            expected[0].gencount += 1;
        }
        bool same = w.conflicts_parsed && w.conflicts.size() == expected.size();
        for (size_t i = 0; same && i < expected.size(); i++)
            same = w.conflicts[i].item == expected[i].item && w.conflicts[i].gencount == expected[i].gencount &&
                   w.conflicts[i].deleted == expected[i].deleted;
        if (!same)
            violation("conflict-detail", what + ": expected " + conflicts_str(expected) + ", got " +
                                             conflicts_str(w.conflicts) + " " + w.message);
    }

    // Checks an acknowledged write and adds it to the model.
    void accept(Op &op, WriteResult &w, const std::string &what)
    {
        size_t k = op.recs.size();
        if (cfg.injected("batch") && op.kind == Kind::Many && !injected_batch_ && w.rows.size() > 1) {
            injected_batch_ = true;
            w.rows[1].gencount += 1;
        }
        if (cfg.injected("order") && !injected_order_ && op.floor > 0) {
            injected_order_ = true;
            op.floor += 1000000;
        }
        if (w.rows.size() != k) {
            violation("batch-rows", what + ": " + std::to_string(w.rows.size()) + " rows for " + std::to_string(k) + " records");
            return;
        }
        ZoneModel &z = model[op.zi];
        for (size_t i = 0; i < k; i++) {
            if (op.recs[i].item && w.rows[i].item != *op.recs[i].item)
                violation("item-mismatch", what + ": record " + std::to_string(i) + " sent " + uuid_str(*op.recs[i].item) +
                                               ", got " + uuid_str(w.rows[i].item));
            if (w.rows[i].gencount != w.rows[0].gencount + static_cast<int64_t>(i))
                violation("batch-not-consecutive", what + ": gencounts " + std::to_string(w.rows[0].gencount) + ".." +
                                                       std::to_string(w.rows[i].gencount) + " at record " + std::to_string(i));
            if (!op.recs[i].item) {
                std::lock_guard<std::mutex> lk(z.mu);
                if (z.latest.count(w.rows[i].item))
                    violation("server-item-reused", what + ": server-chosen item " + uuid_str(w.rows[i].item) + " already exists");
            }
        }
        if (w.rows[0].gencount <= op.floor)
            violation("allocation-order", what + ": got gencount " + std::to_string(w.rows[0].gencount) +
                                              " but " + std::to_string(op.floor) + " was acknowledged before it was sent");
        for (size_t i = 0; i < k; i++) {
            bool del = !op.recs[i].blob;
            record_ack(op.zi, w.rows[i].gencount, w.rows[i].item, op.seqs[i], del, del ? std::string() : *op.recs[i].blob);
            int idx = op.owned_idx[i];
            if (idx >= 0) owned_[op.zi][idx] = {w.rows[i].item, w.rows[i].gencount, del};
            else if (idx == -1) owned_[op.zi].push_back({w.rows[i].item, w.rows[i].gencount, del});
        }
        if (cfg.injected("dup") && !injected_dup_) {
            injected_dup_ = true;
            record_ack(op.zi, w.rows[0].gencount, random_uuid(rng_), 0, true, "");
        }
        stats.records_acked += k;
        stats.pushes_acked++;
        (op.kind == Kind::Many ? stats.batches : op.kind == Kind::Delete ? stats.deletes : stats.singles)++;
        for (const auto &r : op.recs)
            if (r.if_match) {
                stats.if_match_ok++;
                break;
            }
        op.rows = w.rows;
        if (op.op_id) last_ = op;
    }

    // Re-sends the last acknowledged op exactly: it must return the original
    // rows and change nothing (density checks that nothing was applied twice).
    void replay_last()
    {
        if (!last_) return;
        WriteResult w = send(*last_, false);
        if (w.outcome == Outcome::ConnError) return;
        stats.replays++;
        std::vector<Row> expected = last_->rows;
        if (cfg.injected("replay") && !injected_replay_) {
            injected_replay_ = true;
            expected[0].gencount += 1;
        }
        bool same = w.outcome == Outcome::Ok && w.rows.size() == expected.size();
        for (size_t i = 0; same && i < expected.size(); i++)
            same = w.rows[i].item == expected[i].item && w.rows[i].gencount == expected[i].gencount;
        if (!same)
            violation("replay-mismatch", zlabel(last_->zi) + " op " + uuid_str(*last_->op_id) + " re-sent: expected " +
                                             std::to_string(expected.size()) + " rows from gencount " +
                                             std::to_string(expected[0].gencount) + ", got " + w.code + " " +
                                             (w.rows.empty() ? std::string("no rows") : "from " + std::to_string(w.rows[0].gencount)));
    }

    // The last op_id with a different request: CS422, nothing applied.
    void reuse_op_id()
    {
        if (!last_) return;
        Op op = *last_;
        uint64_t seq;
        if (op.kind == Kind::Delete) op.recs[0].item = random_uuid(rng_);
        else op.recs[0].blob = blob_for(op.zi, op.recs[0].item, seq);
        WriteResult w = send(op, false);
        if (w.outcome == Outcome::ConnError) return;
        stats.op_reuse++;
        if (w.outcome == Outcome::Error && w.code == be_->op_reused_code()) return;
        bool original = w.outcome == Outcome::Ok && w.rows.size() == last_->rows.size();
        for (size_t i = 0; original && i < w.rows.size(); i++)
            original = w.rows[i].item == last_->rows[i].item && w.rows[i].gencount == last_->rows[i].gencount;
        violation("op-reuse", zlabel(op.zi) + " op " + uuid_str(*op.op_id) + " re-used for a different request: expected " +
                                  be_->op_reused_code() + ", got " + (w.outcome == Outcome::Ok ? (original ? "the original result" : "a new write") : w.code + " " + w.message));
        if (w.outcome == Outcome::Ok && !original) {  // it was applied: keep the model true to the server
            set_inflight(op, +1);
            op.floor = op_floor_;
            accept(op, w, "op reuse");
            set_inflight(op, -1);
        }
    }

    int id_;
    std::mt19937_64 rng_;
    std::unique_ptr<Backend> be_;
    std::vector<std::vector<Owned>> owned_;
    std::optional<Op> last_;
    int64_t op_floor_ = 0;
    bool injected_conflict_ = false, injected_batch_ = false, injected_order_ = false, injected_dup_ = false,
         injected_replay_ = false;
};

}  // namespace

void run_writer(int id)
{
    Writer w(id);
    w.run();
}

}  // namespace ck
