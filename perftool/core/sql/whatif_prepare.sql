PREPARE {name} AS 
