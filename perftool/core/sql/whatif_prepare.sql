PREPARE /* perftool */ {name} AS 
