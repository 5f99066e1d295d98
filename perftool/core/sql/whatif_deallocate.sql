DEALLOCATE /* perftool */ {name}
