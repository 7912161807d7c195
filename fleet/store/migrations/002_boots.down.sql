DROP TABLE boots;
