#include "ledger/ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "ledger/cost.h"
#include "ledger/journal.h"
#include "ledger/report.h"
#include "ledger/sqlite_store.h"

#include <sqlite3.h>

namespace tandem {
namespace {

std::string TempDb() {
  static int n = 0;
  auto p = std::filesystem::temp_directory_path() /
           ("tandem-ledger-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db");
  std::filesystem::remove(p);
  return p.string();
}

LedgerRecord Row(int64_t ts, const std::string& tier, double cost, double baseline, int64_t total_us) {
  LedgerRecord r;
  r.ts_us = ts;
  r.request_id = "req-" + std::to_string(ts);
  r.model = tier == "slm" ? "small" : "big";
  r.tier = tier;
  r.prompt_tokens = 100;
  r.completion_tokens = 50;
  r.cost_usd = cost;
  r.baseline_usd = baseline;
  r.total_us = total_us;
  return r;
}

TEST(SqliteStore, RoundTripsRows) {
  std::string path = TempDb();
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  LedgerRecord r = Row(1000, "slm", 0.001, 0.01, 5000);
  r.reasons = "rule x: task=code";
  r.pii = "email,card";
  r.local_only = true;
  r.escalation = "unavailable: key";
  ASSERT_TRUE(store.value()->insert({r, Row(2000, "llm", 0.02, 0.02, 9000)}).ok());
  auto rows = store.value()->rows_since(1500);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->at(0).tier, "llm");
  rows = store.value()->rows_since(0);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->at(0).reasons, "rule x: task=code");
  EXPECT_EQ(rows->at(0).pii, "email,card");
  EXPECT_TRUE(rows->at(0).local_only);
  EXPECT_EQ(rows->at(0).escalation, "unavailable: key");
  EXPECT_EQ(store.value()->count(), 2);
}

TEST(SqliteStore, DraftAndShadowFieldsRoundTrip) {
  std::string path = TempDb();
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  LedgerRecord r = Row(1000, "slm", 0.001, 0.01, 5000);
  r.draft_tokens = 42;
  r.draft_cost_usd = 0.0003;
  r.signals = SignalsJson({{"first_prob", 0.75}, {"answer_tokens", 3}});
  r.p_right = 0.6;
  r.shadow_of = "req-7";
  r.verdict = 1;
  ASSERT_TRUE(store.value()->insert({r}).ok());
  auto rows = store.value()->rows_since(0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const LedgerRecord& b = rows->at(0);
  EXPECT_EQ(b.draft_tokens, 42);
  EXPECT_DOUBLE_EQ(b.draft_cost_usd, 0.0003);
  EXPECT_DOUBLE_EQ(ParseSignals(b.signals).at("first_prob"), 0.75);
  EXPECT_DOUBLE_EQ(b.p_right, 0.6);
  EXPECT_EQ(b.shadow_of, "req-7");
  EXPECT_EQ(b.verdict, 1);
  EXPECT_TRUE(ParseSignals("").empty());
  EXPECT_TRUE(ParseSignals("{not json").empty());
  EXPECT_EQ(SignalsJson({}), "");
}

TEST(SqliteStore, UpgradesALedgerAnOlderGatewayCreated) {
  std::string path = TempDb();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    // The table as the first release wrote it, with one row.
    const char* old = "CREATE TABLE requests (id INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, request_id TEXT NOT NULL,"
                      " key_id TEXT NOT NULL, requested_model TEXT NOT NULL, model TEXT NOT NULL, tier TEXT NOT NULL,"
                      " locality TEXT NOT NULL, reasons TEXT NOT NULL, rule TEXT NOT NULL, prompt_tokens INTEGER NOT"
                      " NULL, completion_tokens INTEGER NOT NULL, usage_estimated INTEGER NOT NULL, cost_usd REAL NOT"
                      " NULL, baseline_usd REAL NOT NULL, ttft_us INTEGER NOT NULL, total_us INTEGER NOT NULL,"
                      " overhead_us INTEGER NOT NULL, http_status INTEGER NOT NULL, status TEXT NOT NULL, error TEXT"
                      " NOT NULL, pii TEXT NOT NULL, local_only INTEGER NOT NULL, stream INTEGER NOT NULL, attempts"
                      " INTEGER NOT NULL, escalation TEXT NOT NULL);"
                      "INSERT INTO requests VALUES (1, 5, 'old', '', 'auto', 'small', 'slm', 'local', '', '', 1, 2, 0,"
                      " 0.1, 0.2, 0, 0, 0, 200, 'ok', '', '', 0, 0, 1, '');";
    ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  LedgerRecord r = Row(1000, "slm", 0.001, 0.01, 5000);
  r.verdict = 0;
  ASSERT_TRUE(store.value()->insert({r}).ok());
  auto rows = store.value()->rows_since(0);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->at(0).request_id, "old");
  EXPECT_EQ(rows->at(0).verdict, -1);
  EXPECT_DOUBLE_EQ(rows->at(0).p_right, -1);
  EXPECT_EQ(rows->at(1).verdict, 0);
}

TEST(SqliteStore, UnwritablePathIsAnError) {
  auto store = SqliteStore::Open("/nonexistent-dir/x/ledger.db");
  EXPECT_FALSE(store.ok());
}

TEST(Ledger, JournalsThenCommitsAndRowsAreReadableByAnotherConnection) {
  std::string path = TempDb();
  auto ledger = Ledger::Open(path);
  ASSERT_TRUE(ledger.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(ledger.value()->append(Row(i, "slm", 0, 0, 1)).ok());
  ledger.value()->flush();
  auto reader = SqliteStore::Open(path, /*read_only=*/true);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader.value()->count(), 100);
  EXPECT_EQ(ledger.value()->committed(), 100);
}

TEST(Ledger, RecoversJournaledRowsAStoreNeverGot) {
  std::string path = TempDb();
  {
    auto store = SqliteStore::Open(path);  // the store has row 1 already; the journal has rows 1 and 2
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store.value()->insert({Row(1, "slm", 0, 0, 1)}).ok());
    auto journal = Journal::Open(path + ".journal");
    ASSERT_TRUE(journal.ok());
    LedgerRecord r2 = Row(2, "llm", 0.5, 0.5, 7);
    r2.reasons = "rule \"x\"\nnext";
    ASSERT_TRUE(journal.value()->append(Row(1, "slm", 0, 0, 1)).ok());
    ASSERT_TRUE(journal.value()->append(r2).ok());
  }
  {
    std::FILE* f = std::fopen((path + ".journal").c_str(), "a");  // a torn last line is skipped
    std::fputs("{\"ts_us\":3,\"request", f);
    std::fclose(f);
  }
  auto ledger = Ledger::Open(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status().message();
  EXPECT_EQ(ledger.value()->recovered(), 2);
  auto reader = SqliteStore::Open(path, true);
  auto rows = reader.value()->rows_since(0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);  // row 1 once, row 2 recovered
  EXPECT_EQ(rows->at(1).reasons, "rule \"x\"\nnext");
  EXPECT_DOUBLE_EQ(rows->at(1).cost_usd, 0.5);
  EXPECT_EQ(std::filesystem::file_size(path + ".journal"), 0u);
}

TEST(Journal, RowJsonRoundTrip) {
  LedgerRecord r = Row(42, "llm", 0.25, 1.5, 99);
  r.local_only = true;
  r.http_status = 502;
  r.attempts = 3;
  LedgerRecord back;
  ASSERT_TRUE(RowFromJson(RowToJson(r), back));
  EXPECT_EQ(RowToJson(back), RowToJson(r));
  EXPECT_FALSE(RowFromJson("{\"ts_us\":1}", back));
  r.signals = R"({"first_prob":0.5})";
  r.p_right = 0.25;
  r.shadow_of = "req-1";
  r.verdict = 0;
  ASSERT_TRUE(RowFromJson(RowToJson(r), back));
  EXPECT_EQ(RowToJson(back), RowToJson(r));
  // A line an older gateway journaled (no draft or shadow fields) still reads, with their defaults.
  std::string old = RowToJson(Row(42, "llm", 0.25, 1.5, 99));
  old = old.substr(0, old.find(",\"draft_tokens\"")) + "}";
  LedgerRecord fresh;
  ASSERT_TRUE(RowFromJson(old, fresh)) << old;
  EXPECT_EQ(fresh.verdict, -1);
  EXPECT_DOUBLE_EQ(fresh.p_right, -1);
  EXPECT_EQ(fresh.request_id, "req-42");
}

TEST(Report, SharesSavingsPercentilesAndProjection) {
  const int64_t day = 86'400'000'000LL;
  std::vector<LedgerRecord> rows;
  for (int i = 0; i < 8; ++i) rows.push_back(Row(i * day / 8, "slm", 0.001, 0.01, (i + 1) * 1000));
  for (int i = 0; i < 2; ++i) rows.push_back(Row(i * day / 2, "llm", 0.01, 0.01, 100000));
  LedgerRecord refused = Row(day / 3, "", 0, 0, 50);  // a bad request: no tier, no cost
  refused.http_status = 400;
  rows.push_back(refused);
  Report r = BuildReport(rows, day, 7 * day);
  EXPECT_EQ(r.requests, 11);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.tiers.count(""), 0u);
  EXPECT_DOUBLE_EQ(r.tiers["slm"].share, 0.8);
  EXPECT_DOUBLE_EQ(r.tiers["llm"].share, 0.2);
  EXPECT_NEAR(r.spend_usd, 0.028, 1e-12);
  EXPECT_NEAR(r.baseline_usd, 0.1, 1e-12);
  EXPECT_NEAR(r.savings_pct, 72.0, 1e-9);
  EXPECT_EQ(r.tiers["slm"].p50_us, 5000);  // nearest rank over 1..8 ms
  EXPECT_EQ(r.tiers["slm"].p95_us, 8000);
  EXPECT_NEAR(r.window_days, 1.0, 1e-9);  // one day of traffic
  EXPECT_NEAR(r.projected_monthly_usd, 0.028 * 30.44, 1e-9);
  std::string text = FormatReport(r, "7d");
  EXPECT_NE(text.find("savings"), std::string::npos);
  EXPECT_NE(text.find("80.0%"), std::string::npos);
}

TEST(Report, ATierThatNeverStreamedHasNoFirstTokenTime) {
  const int64_t day = 86'400'000'000LL;
  std::vector<LedgerRecord> rows = {Row(0, "slm", 0.001, 0.01, 4000), Row(1, "llm", 0.01, 0.01, 9000)};
  rows[0].ttft_us = 0;       // answered whole
  rows[1].ttft_us = 1500;  // streamed
  Report r = BuildReport(rows, day, 7 * day);
  EXPECT_EQ(r.tiers["slm"].p50_ttft_us, -1);
  EXPECT_EQ(r.tiers["llm"].p50_ttft_us, 1500);
  const std::string text = FormatReport(r, "7d");
  const std::string slm = text.substr(text.find("  slm "), text.find('\n', text.find("  slm ")) - text.find("  slm "));
  EXPECT_EQ(slm.back(), '-') << slm;
  EXPECT_NE(text.find("1.50\n"), std::string::npos) << text;
}

TEST(Report, ParsesDurations) {
  EXPECT_EQ(ParseDuration("7d"), 7 * 86'400'000'000LL);
  EXPECT_EQ(ParseDuration("24h"), 24 * 3'600'000'000LL);
  EXPECT_EQ(ParseDuration("30m"), 30 * 60'000'000LL);
  EXPECT_EQ(ParseDuration("7"), -1);
  EXPECT_EQ(ParseDuration("7x"), -1);
  EXPECT_EQ(ParseDuration("ad"), -1);
}

TEST(Cost, PerMillionTokens) {
  ModelInfo m;
  m.usd_per_mtok_in = 2.5;
  m.usd_per_mtok_out = 10;
  EXPECT_DOUBLE_EQ(CostUsd(m, Usage{1'000'000, 100'000, false}), 3.5);
}

}  // namespace
}  // namespace tandem
