 INCLUDE ({columns})
