-- Printed in fixes for a person to run; perftool never sends it.
SELECT pg_cancel_backend({pid})
