-- The default organization's token given on the command line (`idpsim sp --token`, or the one
-- `idpsim serve` makes up) is its bootstrap token: a start with another one replaces it, so
-- that only the token the SP was last started with works, beside those issued through the
-- admin API. Tokens stored before this column was added are not bootstrap tokens.

ALTER TABLE tokens ADD COLUMN bootstrap INTEGER NOT NULL DEFAULT 0;
