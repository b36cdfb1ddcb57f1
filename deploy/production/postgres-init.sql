-- One database per service: no service reads another's.
CREATE DATABASE identity;
CREATE DATABASE grades;
CREATE DATABASE signing;
CREATE DATABASE portal;
