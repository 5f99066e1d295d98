-- Transaction-ID age of every database (autovacuum must freeze before 2^31; it forces
-- anti-wraparound vacuums from autovacuum_freeze_max_age, default 200 M).
SELECT datname, age(datfrozenxid)::bigint AS xid_age, mxid_age(datminmxid)::bigint AS mxid_age,
       datallowconn AS allows_connections
FROM pg_database
ORDER BY age(datfrozenxid) DESC, datname;
