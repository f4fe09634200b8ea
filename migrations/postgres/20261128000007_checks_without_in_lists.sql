-- PostgreSQL twin of ../20261128000007_checks_without_in_lists.sql: that
-- one rebuilds two tables to rewrite their CHECKs for SQLite's speed; the
-- rules are the same, and PostgreSQL has nothing to change.
SELECT 1;
