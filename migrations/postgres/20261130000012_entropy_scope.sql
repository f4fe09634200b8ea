-- PostgreSQL twin of ../20261130000012_entropy_scope.sql: API tokens may
-- have the scope `entropy`.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope
    CHECK (scope IN ('seed', 'read', 'entropy'));
