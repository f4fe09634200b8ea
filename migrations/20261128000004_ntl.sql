-- The Network Trust Link: the HSM server list and the appliance (QA)
-- client certificate, whose key is encrypted with the master key.
CREATE TABLE ntl_servers (
    id          INTEGER PRIMARY KEY,
    address     TEXT    NOT NULL UNIQUE,
    cert_pem    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE ntl_qa_cert (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    address     TEXT    NOT NULL,
    cert_pem    TEXT    NOT NULL,
    key_sealed  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
