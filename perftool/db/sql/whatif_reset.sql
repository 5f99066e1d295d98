-- Forget every hypothetical index of this session (frees HypoPG's OID range).
SELECT hypopg_reset();
