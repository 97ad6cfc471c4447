import 'blockbuster/jest';
